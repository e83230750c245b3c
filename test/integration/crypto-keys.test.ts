/**
 * Envelope encryption against real PostgreSQL (and PGlite): ciphertexts bound to their row
 * and tenant, master key rotation (library and `hoist keys rotate`), online tenant key
 * rotation with concurrent reads and writes, crypto-shredding.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAudit } from '../../db/audit.ts';
import { createDb } from '../../db/client.ts';
import { keyVersionOf, Keyring, Sealer } from '../../db/crypto.ts';
import { rewrapTenantKeys, rotateTenantKey, versionsInUse } from '../../db/privacy/keys.ts';
import { Store } from '../../db/repo.ts';
import { envVars, tenantKeys } from '../../db/schema/index.ts';
import { freshDatabase, uid } from '../fixtures/services.ts';

const run = promisify(execFile);
let fx: Awaited<ReturnType<typeof freshDatabase>>;
let store: Store;

beforeAll(async () => {
  fx = await freshDatabase();
  store = new Store(fx.dbh.db);
});
afterAll(async () => { await fx?.drop(); });

async function tenantWithEnv(sealer: Sealer, n: number, app = 'api') {
  const t = `slack:${uid('T')}`;
  await store.ensureTenant(t, 'slack');
  const values: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const key = `KEY_${i}`;
    values[key] = `value-${i}-${randomBytes(6).toString('hex')}`;
    await store.setEnvVar(t, app, key, await sealer.seal(t, `env:${app}:${key}`, values[key]!));
  }
  return { t, values, app };
}

async function readAll(sealer: Sealer, t: string, app: string) {
  const out: Record<string, string> = {};
  for (const r of await store.envVarRows(t, app)) out[r.key] = await sealer.open(t, `env:${app}:${r.key}`, r.ciphertext);
  return out;
}

describe('envelope encryption (real PostgreSQL)', () => {
  it('refuses ciphertexts swapped between rows, apps and tenants', async () => {
    const sealer = new Sealer(fx.dbh.db, randomBytes(32));
    const a = await tenantWithEnv(sealer, 2);
    const b = await tenantWithEnv(sealer, 1);
    const [k0, k1] = await store.envVarRows(a.t, 'api');
    await expect(sealer.open(a.t, 'env:api:KEY_1', k0!.ciphertext)).rejects.toThrow(/integrity/);
    await expect(sealer.open(a.t, 'env:web:KEY_0', k0!.ciphertext)).rejects.toThrow(/integrity/);
    await expect(sealer.open(b.t, 'env:api:KEY_0', k0!.ciphertext)).rejects.toThrow(/integrity|no longer exists/);
    // A row-level swap in the database is caught the same way when the value is read.
    await fx.dbh.db.update(envVars).set({ ciphertext: k1!.ciphertext }).where(and(eq(envVars.tenantId, a.t), eq(envVars.key, 'KEY_0')));
    await expect(readAll(sealer, a.t, 'api')).rejects.toThrow(/integrity/);
    // Flipping the key version in the header is caught too (the version is inside the AAD).
    const forged = Buffer.from(k1!.ciphertext);
    forged.writeUInt32BE(2, 1);
    await expect(sealer.open(a.t, 'env:api:KEY_1', forged)).rejects.toThrow();
    expect(k0!.ciphertext.includes(Buffer.from(a.values.KEY_0!))).toBe(false);
  });

  it('rotates the master key: every tenant key re-wrapped, every value readable with the new key alone', async () => {
    const old = randomBytes(32);
    const s1 = new Sealer(fx.dbh.db, old);
    const a = await tenantWithEnv(s1, 3);
    await appendAudit(fx.dbh.db, { tenantId: a.t, type: 'x', actor: 'slack:U1' }, new Date(), s1);
    const fresh = randomBytes(32);
    const both = new Sealer(fx.dbh.db, new Keyring(fresh, [old]));
    expect((await rewrapTenantKeys(fx.dbh.db, both)).rewrapped).toBeGreaterThanOrEqual(1);
    const only = new Sealer(fx.dbh.db, new Keyring(fresh));
    expect(await readAll(only, a.t, 'api')).toEqual(a.values);
    await expect(readAll(new Sealer(fx.dbh.db, old), a.t, 'api')).rejects.toThrow(/not configured/);
  });

  it('hoist keys rotate: HOIST_MASTER_KEY + HOIST_MASTER_KEY_PREVIOUS re-wraps, re-signs audit heads and rotates tenant keys', async () => {
    const old = randomBytes(32);
    const s1 = new Sealer(fx.dbh.db, old);
    // The CLI rotates every tenant: bring every existing tenant onto `old` first.
    const a = await tenantWithEnv(s1, 4);
    await appendAudit(fx.dbh.db, { tenantId: a.t, type: 'x', actor: 'slack:U1' }, new Date(), s1);
    const fresh = randomBytes(32);
    const others = (await fx.dbh.db.select().from(tenantKeys)).filter((k) => k.tenantId !== a.t);
    await fx.dbh.db.delete(tenantKeys).where(sql`${tenantKeys.tenantId} <> ${a.t}`);
    const env = { ...process.env, DATABASE_URL: fx.url, HOIST_MASTER_KEY: fresh.toString('base64'), HOIST_MASTER_KEY_PREVIOUS: old.toString('base64') };
    const r = await run('node', ['bin/hoist.mjs', 'keys', 'rotate', '--batch', '3'], { env });
    expect(r.stdout).toMatch(new RegExp(`${a.t}: data key v1 → v2; re-encrypted env_vars 4`));
    const only = new Sealer(fx.dbh.db, new Keyring(fresh));
    expect(await readAll(only, a.t, 'api')).toEqual(a.values);
    expect([...(await versionsInUse(fx.dbh.db, a.t))]).toEqual([2]);
    expect(await verifyAudit(fx.dbh.db, a.t, only)).toMatchObject({ ok: true });
    if (others.length) await fx.dbh.db.insert(tenantKeys).values(others);
  });

  it('rotates a tenant key online: reads and writes during the rotation keep working; old versions are destroyed', async () => {
    const sealer = new Sealer(fx.dbh.db, randomBytes(32));
    const a = await tenantWithEnv(sealer, 60);
    const other = new Sealer(fx.dbh.db, sealer.keyring); // another process, its own caches
    let stop = false;
    let reads = 0;
    const readers = (async () => {
      while (!stop) { expect(Object.keys(await readAll(other, a.t, 'api')).length).toBeGreaterThanOrEqual(60); reads++; }
    })();
    const writers = (async () => {
      for (let i = 0; !stop; i++) {
        const key = `NEW_${i}`;
        a.values[key] = `during-${i}`;
        await store.setEnvVar(a.t, 'api', key, await other.seal(a.t, `env:api:${key}`, a.values[key]!));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const report = await rotateTenantKey(fx.dbh.db, sealer, a.t, { batchSize: 7 });
    stop = true;
    await Promise.all([readers, writers]);
    expect(report).toMatchObject({ from: 1, to: 2, destroyedVersions: 1 });
    expect(reads).toBeGreaterThan(0);
    expect(await readAll(new Sealer(fx.dbh.db, sealer.keyring), a.t, 'api')).toEqual(a.values);
    const rows = await store.envVarRows(a.t, 'api');
    expect(new Set(rows.map((r) => keyVersionOf(r.ciphertext)))).toEqual(new Set([2]));
    expect((await fx.dbh.db.select().from(tenantKeys).where(eq(tenantKeys.tenantId, a.t))).map((k) => k.version)).toEqual([2]);
  });

  it('crypto-shredding: without the tenant key rows a backup of the values is unreadable', async () => {
    const sealer = new Sealer(fx.dbh.db, randomBytes(32));
    const a = await tenantWithEnv(sealer, 1);
    const [row] = await store.envVarRows(a.t, 'api');
    expect(await sealer.shred(a.t)).toBe(1);
    await expect(new Sealer(fx.dbh.db, sealer.keyring).open(a.t, 'env:api:KEY_0', row!.ciphertext)).rejects.toThrow(/no longer exists/);
  });
});

describe('the same migrations, trigger and sealer on PGlite', () => {
  it('migrates, seals, opens, refuses an app UPDATE of audit_events and verifies a keyed chain', async () => {
    const dbh = await createDb({});
    try {
      await dbh.migrate();
      const sealer = new Sealer(dbh.db, randomBytes(32));
      const s = new Store(dbh.db);
      await s.ensureTenant('console:x', 'console');
      const blob = await sealer.seal('console:x', 'env:a:K', 'v1');
      expect(await sealer.open('console:x', 'env:a:K', blob)).toBe('v1');
      for (let i = 0; i < 3; i++) await appendAudit(dbh.db, { tenantId: 'console:x', type: 't', actor: 'console:me', data: { i } }, new Date(), sealer);
      await expect(dbh.db.execute(sql`update audit_events set type = 'y'`)).rejects.toThrow();
      expect(await verifyAudit(dbh.db, 'console:x', sealer)).toMatchObject({ ok: true, events: 3 });
    } finally {
      await dbh.close();
    }
  });
});
