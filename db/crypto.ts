/**
 * Envelope encryption. The master key (32 bytes) wraps one random data key per tenant;
 * values are AES-256-GCM under the tenant key with a random 12-byte nonce and AAD that
 * binds tenant and purpose (e.g. `env:<app>:<KEY>`), so a ciphertext copied to another
 * row or tenant does not decrypt. Layout: version(1) | nonce(12) | tag(16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { HoistError } from '../bot/core/errors.ts';
import type { Db } from './client.ts';
import { tenants } from './schema/index.ts';

const VERSION = 1;

export function parseMasterKey(b64: string): Buffer {
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw new HoistError('config_invalid', 'HOIST_MASTER_KEY must be 32 bytes, base64-encoded');
  return key;
}

export function encrypt(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, c.getAuthTag(), body]);
}

export function decrypt(key: Buffer, blob: Buffer, aad: string): Buffer {
  if (blob.length < 29 || blob[0] !== VERSION) throw new HoistError('internal', 'sealed value has an unknown format');
  const d = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 13));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(blob.subarray(13, 29));
  try {
    return Buffer.concat([d.update(blob.subarray(29)), d.final()]);
  } catch (cause) {
    throw new HoistError('internal', 'a sealed value failed its integrity check', { cause });
  }
}

/** Seals and opens values under per-tenant data keys. */
export class Sealer {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly db: Db, private readonly masterKey: Buffer) {}

  private async tenantKey(tenantId: string): Promise<Buffer> {
    const hit = this.cache.get(tenantId);
    if (hit) return hit;
    const [row] = await this.db.select({ wk: tenants.wrappedKey }).from(tenants).where(eq(tenants.id, tenantId));
    if (!row) throw new HoistError('internal', `unknown tenant ${tenantId}`);
    let key: Buffer;
    if (row.wk) {
      key = decrypt(this.masterKey, row.wk, `tenant-key:${tenantId}`);
    } else {
      key = randomBytes(32);
      const wrapped = encrypt(this.masterKey, key, `tenant-key:${tenantId}`);
      // Two processes may race to create the key: only the first write wins, both re-read it.
      await this.db.update(tenants).set({ wrappedKey: wrapped }).where(and(eq(tenants.id, tenantId), isNull(tenants.wrappedKey)));
      const [again] = await this.db.select({ wk: tenants.wrappedKey }).from(tenants).where(eq(tenants.id, tenantId));
      key = decrypt(this.masterKey, again!.wk!, `tenant-key:${tenantId}`);
    }
    this.cache.set(tenantId, key);
    return key;
  }

  async seal(tenantId: string, purpose: string, value: string): Promise<Buffer> {
    return encrypt(await this.tenantKey(tenantId), Buffer.from(value, 'utf8'), `${tenantId}|${purpose}`);
  }

  async open(tenantId: string, purpose: string, blob: Buffer): Promise<string> {
    return decrypt(await this.tenantKey(tenantId), blob, `${tenantId}|${purpose}`).toString('utf8');
  }

  forget(tenantId: string): void {
    this.cache.delete(tenantId);
  }
}
