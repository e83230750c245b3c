/**
 * What the LLM intent parser keeps (issue 6). Thread messages are stored redacted (secrets
 * already placeholders) with a pseudonymous speaker, only for tenants with the LLM on, so
 * "and restart it too" has context. `llm_requests` is the per-tenant record of exactly
 * what left the building: the full request body as sent. The BYO API key is ciphertext.
 */
import { bigserial, customType, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './index.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const llmThreadMessages = pgTable(
  'llm_thread_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    /** platform:channel:thread — the conversation the message belongs to. */
    thread: text('thread').notNull(),
    /** HMAC of the user id (never the id itself). */
    speaker: text('speaker').notNull(),
    /** Redacted text: placeholders instead of secrets. */
    text: text('text').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('llm_thread_messages_thread').on(t.tenantId, t.thread, t.createdAt)],
);

export const llmRequests = pgTable(
  'llm_requests',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull().defaultNow(),
    model: text('model').notNull(),
    promptVersion: text('prompt_version').notNull(),
    /** The request body exactly as sent (already redacted and pseudonymized). */
    request: jsonb('request').notNull(),
    /** Outcome, stop reason, the proposed action or the error — never the raw model text. */
    response: jsonb('response').notNull(),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
  },
  (t) => [index('llm_requests_tenant').on(t.tenantId, t.createdAt)],
);

/** A tenant's own Anthropic API key, sealed under its data key (purpose `llm-key`). */
export const llmKeys = pgTable('llm_keys', {
  tenantId: text('tenant_id').primaryKey().references(() => tenants.id, { onDelete: 'cascade' }),
  ciphertext: bytea('ciphertext').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});
