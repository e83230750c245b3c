/**
 * The LLM stage's pseudonyms (bot/llm): stable per tenant and user, used for thread speakers
 * and the Redis keys of budgets and thread context. The HMAC key is derived from the master
 * key, so pseudonyms cannot be recomputed without it. Shared here because tenant deletion
 * (workers/maintenance) must find those keys.
 */
import { createHmac } from 'node:crypto';

/** The pseudonym "user" that names a whole tenant (its budget and context keys carry it). */
export const WORKSPACE = '*workspace*';

export function createPseudonym(masterKey: Buffer): (tenantId: string, userId: string) => string {
  const key = createHmac('sha256', masterKey).update('hoist/llm-pseudonym/v1').digest();
  return (tenantId, userId) => createHmac('sha256', key).update(`${tenantId}\0${userId}`).digest('base64url').slice(0, 22);
}
