/**
 * Envelope encryption. A master key (32 bytes, identified by a key id = HMAC(key, "hoist:kid"))
 * wraps every version of every tenant's data key (table tenant_keys); values are AES-256-GCM
 * under a tenant key version with a random 12-byte nonce.
 *
 *   value (v2):        0x02 | key version u32be | nonce(12) | tag(16) | ciphertext
 *                      AAD = `<tenant>|<purpose>|k<version>`   (purpose e.g. `env:<app>:<KEY>`)
 *   value (v1, legacy): 0x01 | nonce | tag | ciphertext, AAD `<tenant>|<purpose>`, key version 1
 *   wrapped key (v2):  0x02 | nonce | tag | ciphertext, AAD `tenant-key:<tenant>:v<version>`,
 *                      the master key named by tenant_keys.master_kid ('legacy' = v1 wrap).
 *
 * A ciphertext copied to another row, purpose or tenant fails its tag. Each value names its key
 * version, so reads keep working while a rotation re-encrypts (db/privacy/keys.ts); new values
 * use tenants.key_version. Deleting a tenant's tenant_keys rows is its crypto-shredding.
 * Keyring: the current master key plus previous ones still needed to unwrap until
 * `hoist keys rotate` re-wrapped everything (HOIST_MASTER_KEY_PREVIOUS or master.key.previous).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { HoistError } from '../bot/core/errors.ts';
import type { Db } from './client.ts';
import { tenantKeys, tenants, tenantSecrets } from './schema/index.ts';

const V1 = 1;
const V2 = 2;

export function parseMasterKey(b64: string): Buffer {
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw new HoistError('config_invalid', 'HOIST_MASTER_KEY must be 32 bytes, base64-encoded');
  return key;
}

/** Legacy v1 layout, kept for values and keys written before key versions. */
export function encrypt(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([V1]), nonce, c.getAuthTag(), body]);
}

function gcmOpen(key: Buffer, nonce: Buffer, tag: Buffer, body: Buffer, aad: string): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(tag);
  try {
    return Buffer.concat([d.update(body), d.final()]);
  } catch (cause) {
    throw new HoistError('internal', 'a sealed value failed its integrity check', { cause });
  }
}

export function decrypt(key: Buffer, blob: Buffer, aad: string): Buffer {
  if (blob.length < 29 || blob[0] !== V1) throw new HoistError('internal', 'sealed value has an unknown format');
  return gcmOpen(key, blob.subarray(1, 13), blob.subarray(13, 29), blob.subarray(29), aad);
}

function sealV2(key: Buffer, version: number, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  const head = Buffer.alloc(5);
  head[0] = V2;
  head.writeUInt32BE(version, 1);
  return Buffer.concat([head, nonce, c.getAuthTag(), body]);
}

/** The tenant key version a sealed value was written under. */
export function keyVersionOf(blob: Buffer): number {
  if (blob[0] === V1) return 1;
  if (blob[0] === V2 && blob.length >= 33) return blob.readUInt32BE(1);
  throw new HoistError('internal', 'sealed value has an unknown format');
}

function wrapV2(master: Buffer, dataKey: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([Buffer.from([V2]), nonce, c.getAuthTag(), body]);
}

export const keyId = (key: Buffer): string => createHmac('sha256', key).update('hoist:kid').digest('hex').slice(0, 16);

export interface MasterKey { kid: string; key: Buffer }

/** The current master key and the previous ones still accepted for unwrapping and MAC checks. */
export class Keyring {
  readonly current: MasterKey;
  private readonly byKid = new Map<string, MasterKey>();
  constructor(current: Buffer, previous: Buffer[] = []) {
    this.current = { kid: keyId(current), key: current };
    for (const k of [current, ...previous]) this.byKid.set(keyId(k), { kid: keyId(k), key: k });
  }
  static of(master: Buffer | Keyring): Keyring {
    return master instanceof Keyring ? master : new Keyring(master);
  }
  get(kid: string): MasterKey | undefined {
    return this.byKid.get(kid);
  }
  all(): MasterKey[] {
    return [...this.byKid.values()];
  }
  /** HMAC under a key derived (HKDF) from the current master key, for audit heads and checkpoints. */
  sign(purpose: string, message: string): { kid: string; mac: string } {
    return { kid: this.current.kid, mac: macWith(this.current.key, purpose, message) };
  }
  /** True when `mac` is valid under the named master key; false for an unknown key id. */
  check(purpose: string, message: string, kid: string, mac: string): boolean {
    const k = this.byKid.get(kid);
    if (!k) return false;
    const want = Buffer.from(macWith(k.key, purpose, message), 'hex');
    const got = Buffer.from(mac, 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** HKDF output per (master key, purpose): derived once, not on every audit append (it is ~40 µs each). */
const macKeys = new WeakMap<Buffer, Map<string, Buffer>>();

function macWith(master: Buffer, purpose: string, message: string): string {
  let byPurpose = macKeys.get(master);
  if (!byPurpose) macKeys.set(master, (byPurpose = new Map()));
  let k = byPurpose.get(purpose);
  if (!k) byPurpose.set(purpose, (k = Buffer.from(hkdfSync('sha256', master, 'hoist', `mac:${purpose}`, 32))));
  return createHmac('sha256', k).update(message).digest('hex');
}

const wrapAad = (tenantId: string, version: number) => `tenant-key:${tenantId}:v${version}`;

/** Seals and opens values under per-tenant data keys; derives per-tenant pseudonyms. */
export class Sealer {
  readonly keyring: Keyring;
  private readonly keys = new Map<string, Buffer>();
  private readonly secrets = new Map<string, Buffer>();
  constructor(private readonly db: Db, master: Buffer | Keyring) {
    this.keyring = Keyring.of(master);
  }

  unwrap(tenantId: string, row: { version: number; wrappedKey: Buffer; masterKid: string }): Buffer {
    if (row.masterKid === 'legacy') {
      for (const m of this.keyring.all()) {
        try { return decrypt(m.key, row.wrappedKey, `tenant-key:${tenantId}`); } catch { /* try the next master key */ }
      }
      throw new HoistError('internal', `no configured master key unwraps the data key of ${tenantId}`);
    }
    const m = this.keyring.get(row.masterKid);
    if (!m) throw new HoistError('internal', `the data key of ${tenantId} is wrapped by master key ${row.masterKid}, which is not configured (set HOIST_MASTER_KEY_PREVIOUS)`);
    const w = row.wrappedKey;
    if (w[0] !== V2 || w.length < 29) throw new HoistError('internal', 'wrapped key has an unknown format');
    return gcmOpen(m.key, w.subarray(1, 13), w.subarray(13, 29), w.subarray(29), wrapAad(tenantId, row.version));
  }

  wrap(tenantId: string, version: number, dataKey: Buffer): { wrappedKey: Buffer; masterKid: string } {
    return { wrappedKey: wrapV2(this.keyring.current.key, dataKey, wrapAad(tenantId, version)), masterKid: this.keyring.current.kid };
  }

  /** The data key of one version, creating version `version` when the tenant has no key yet. */
  async dataKey(tenantId: string, version: number, create = false): Promise<Buffer> {
    const ck = `${tenantId}#${version}`;
    const hit = this.keys.get(ck);
    if (hit) return hit;
    let [row] = await this.db.select().from(tenantKeys).where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.version, version)));
    if (!row) {
      if (!create) throw new HoistError('internal', `the data key of ${tenantId} (version ${version}) no longer exists`);
      const [t] = await this.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
      if (!t) throw new HoistError('internal', `unknown tenant ${tenantId}`);
      // Two processes may race to create the key: only the first insert wins, both re-read it.
      await this.db.insert(tenantKeys).values({ tenantId, version, ...this.wrap(tenantId, version, randomBytes(32)) }).onConflictDoNothing();
      [row] = await this.db.select().from(tenantKeys).where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.version, version)));
    }
    const key = this.unwrap(tenantId, row!);
    this.keys.set(ck, key);
    return key;
  }

  /** Read on every seal (not cached) so a rotation in another process takes effect at once. */
  async currentVersion(tenantId: string): Promise<number> {
    const [t] = await this.db.select({ v: tenants.keyVersion }).from(tenants).where(eq(tenants.id, tenantId));
    if (!t) throw new HoistError('internal', `unknown tenant ${tenantId}`);
    return t.v;
  }

  async seal(tenantId: string, purpose: string, value: string | Buffer, version?: number): Promise<Buffer> {
    const v = version ?? (await this.currentVersion(tenantId));
    const key = await this.dataKey(tenantId, v, true);
    return sealV2(key, v, typeof value === 'string' ? Buffer.from(value, 'utf8') : value, `${tenantId}|${purpose}|k${v}`);
  }

  async openBytes(tenantId: string, purpose: string, blob: Buffer): Promise<Buffer> {
    if (blob[0] === V1) return decrypt(await this.dataKey(tenantId, 1), blob, `${tenantId}|${purpose}`);
    const v = keyVersionOf(blob);
    return gcmOpen(await this.dataKey(tenantId, v), blob.subarray(5, 17), blob.subarray(17, 33), blob.subarray(33), `${tenantId}|${purpose}|k${v}`);
  }

  async open(tenantId: string, purpose: string, blob: Buffer): Promise<string> {
    return (await this.openBytes(tenantId, purpose, blob)).toString('utf8');
  }

  /** A random per-tenant secret (sealed in tenant_secrets), created on first use. */
  async secret(tenantId: string, name: string, version: string): Promise<Buffer> {
    const ck = `${tenantId}#${name}#${version}`;
    const hit = this.secrets.get(ck);
    if (hit) return hit;
    const where = and(eq(tenantSecrets.tenantId, tenantId), eq(tenantSecrets.name, name), eq(tenantSecrets.version, version));
    let [row] = await this.db.select().from(tenantSecrets).where(where);
    if (!row) {
      const ciphertext = await this.seal(tenantId, `secret:${name}:${version}`, randomBytes(32));
      await this.db.insert(tenantSecrets).values({ tenantId, name, version, ciphertext }).onConflictDoNothing();
      [row] = await this.db.select().from(tenantSecrets).where(where);
    }
    const s = await this.openBytes(tenantId, `secret:${name}:${version}`, row!.ciphertext);
    this.secrets.set(ck, s);
    return s;
  }

  /**
   * The tenant's stable keyed pseudonym of a user id (`pn:` + 32 hex). Used for audit actor
   * refs and by forget-me; not enumerable without the tenant key. Idempotent on pseudonyms.
   */
  async pseudonym(tenantId: string, userId: string): Promise<string> {
    if (isPseudonym(userId)) return userId;
    const s = await this.secret(tenantId, 'pseudonym', '1');
    return `pn:${createHmac('sha256', s).update(userId).digest('hex').slice(0, 32)}`;
  }

  /** Analytics ref of a user for one UTC day; unlinkable once retention deletes that day's secret. */
  async analyticsRef(tenantId: string, userId: string, now: Date): Promise<string> {
    const day = now.toISOString().slice(0, 10);
    const s = await this.secret(tenantId, 'analytics', day);
    return `an:${createHmac('sha256', s).update(userId).digest('hex').slice(0, 32)}`;
  }

  /** Drop cached keys and secrets (after rotation or tenant deletion). */
  forget(tenantId?: string): void {
    for (const m of [this.keys, this.secrets]) {
      for (const k of [...m.keys()]) if (tenantId === undefined || k.startsWith(`${tenantId}#`)) m.delete(k);
    }
  }

  /** Remove a tenant's key material: every data key version and sealed secret (crypto-shredding). */
  async shred(tenantId: string): Promise<number> {
    const r = await this.db.delete(tenantKeys).where(eq(tenantKeys.tenantId, tenantId)).returning({ v: tenantKeys.version });
    await this.db.delete(tenantSecrets).where(eq(tenantSecrets.tenantId, tenantId));
    this.forget(tenantId);
    return r.length;
  }
}

export const isPseudonym = (s: string): boolean => /^pn:[0-9a-f]{32}$/.test(s);
