/**
 * The audit chain with keys (signed heads and checkpoints, pseudonymous actor refs) against
 * real PostgreSQL: the append-only trigger refuses the application; a superuser's edit,
 * deletion, insertion, tail truncation or forged checkpoint is caught by verify.
 */
import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, pruneAudit, verifyAudit, withAuditMaintenance } from '../../db/audit.ts';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { Store } from '../../db/repo.ts';
import { freshDatabase, uid } from '../fixtures/services.ts';

let fx: Awaited<ReturnType<typeof freshDatabase>>;
let sealer: Sealer;
let store: Store;

beforeAll(async () => {
  fx = await freshDatabase();
  sealer = new Sealer(fx.dbh.db, new Keyring(randomBytes(32)));
  store = new Store(fx.dbh.db);
});
afterAll(async () => { await fx?.drop(); });

const tamper = (q: SQL) => fx.dbh.db.transaction(async (tx) => {
  await tx.execute(sql`set local session_replication_role = replica`);
  await tx.execute(q);
});

async function chain(n: number, start = new Date()) {
  const t = `slack:${uid('T')}`;
  await store.ensureTenant(t, 'slack');
  for (let i = 0; i < n; i++) {
    await appendAudit(fx.dbh.db, { tenantId: t, type: 'deploy.step', actor: `slack:U${i % 3}`, data: { i } }, new Date(start.getTime() + i * 1000), sealer);
  }
  return t;
}

describe('audit chain tamper evidence (keys, real PostgreSQL)', () => {
  it('verifies a keyed chain and stores only pseudonyms in the hashed actor ref', async () => {
    const t = await chain(6);
    expect(await verifyAudit(fx.dbh.db, t, sealer)).toMatchObject({ ok: true, events: 6, unchecked: 0 });
    const rows = await fx.dbh.db.execute(sql`select actor, actor_ref from audit_events where tenant_id = ${t}`);
    for (const r of rows as unknown as Array<{ actor: string; actor_ref: string }>) expect(r.actor_ref).toMatch(/^pn:[0-9a-f]{32}$/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE by the application; allows them in maintenance', async () => {
    const t = await chain(2);
    await expect(fx.dbh.db.execute(sql`update audit_events set type = 'x' where tenant_id = ${t}`)).rejects.toThrow();
    await expect(fx.dbh.db.execute(sql`delete from audit_events where tenant_id = ${t}`)).rejects.toThrow();
    await expect(fx.dbh.db.execute(sql`truncate audit_events`)).rejects.toThrow();
    await expect(fx.dbh.db.execute(sql`select count(*) from audit_events where tenant_id = ${t}`)).resolves.toBeTruthy();
    const n = await withAuditMaintenance(fx.dbh.db, async (tx) => (await tx.execute(sql`update audit_events set type = type where tenant_id = ${t} returning 1`)));
    expect((n as unknown as unknown[]).length).toBe(2);
  });

  it('catches an edited row (data, actor, type) by a superuser', async () => {
    const t1 = await chain(5);
    await tamper(sql`update audit_events set data = '{"i":42}'::jsonb where tenant_id = ${t1} and seq = 3`);
    expect((await verifyAudit(fx.dbh.db, t1, sealer)).firstBad).toMatchObject({ seq: 3, reason: expect.stringMatching(/edited/) });
    const t2 = await chain(5);
    await tamper(sql`update audit_events set actor = 'slack:UEVIL' where tenant_id = ${t2} and seq = 2`);
    expect((await verifyAudit(fx.dbh.db, t2, sealer)).firstBad).toMatchObject({ seq: 2, reason: expect.stringMatching(/pseudonym/) });
    const t3 = await chain(5);
    await tamper(sql`update audit_events set type = 'nothing.happened' where tenant_id = ${t3} and seq = 4`);
    expect((await verifyAudit(fx.dbh.db, t3, sealer)).firstBad).toMatchObject({ seq: 4 });
  });

  it('catches a deleted row and an inserted row', async () => {
    const t1 = await chain(5);
    await tamper(sql`delete from audit_events where tenant_id = ${t1} and seq = 2`);
    expect((await verifyAudit(fx.dbh.db, t1, sealer)).firstBad).toMatchObject({ seq: 3, reason: expect.stringMatching(/missing|inserted/) });
    const t2 = await chain(4);
    await tamper(sql`update audit_events set seq = 5 where tenant_id = ${t2} and seq = 4`);
    await tamper(sql`update audit_events set seq = 4 where tenant_id = ${t2} and seq = 3`);
    await tamper(sql`insert into audit_events (tenant_id, seq, type, data, data_digest, created_at, prev_hash, hash)
      select tenant_id, 3, 'forged', '{}'::jsonb, 'x', now(), hash, repeat('f', 64) from audit_events where tenant_id = ${t2} and seq = 2`);
    expect((await verifyAudit(fx.dbh.db, t2, sealer)).firstBad).toMatchObject({ seq: 3 });
  });

  it('catches a truncated tail, also when the head is rewritten to match, and a chain deleted whole', async () => {
    const t1 = await chain(6);
    await tamper(sql`delete from audit_events where tenant_id = ${t1} and seq > 4`);
    expect((await verifyAudit(fx.dbh.db, t1, sealer)).firstBad?.reason).toMatch(/truncated/);
    await tamper(sql`update audit_heads set seq = 4, hash = (select hash from audit_events where tenant_id = ${t1} and seq = 4) where tenant_id = ${t1}`);
    expect((await verifyAudit(fx.dbh.db, t1, sealer)).firstBad?.reason).toMatch(/head signature is invalid/);
    await tamper(sql`update audit_heads set mac = null, kid = null where tenant_id = ${t1}`);
    expect((await verifyAudit(fx.dbh.db, t1, sealer)).firstBad?.reason).toMatch(/not signed/);
    const t2 = await chain(3);
    await tamper(sql`delete from audit_events where tenant_id = ${t2}`);
    expect((await verifyAudit(fx.dbh.db, t2, sealer)).firstBad?.reason).toMatch(/truncated/);
    await tamper(sql`delete from audit_heads where tenant_id = ${t2}`);
    await appendAudit(fx.dbh.db, { tenantId: t2, type: 'x' }, new Date(), sealer); // a new genesis does not hide it…
    const all = await verifyAudit(fx.dbh.db, undefined, sealer);
    expect(all.ok).toBe(false); // …the other broken chains are still reported across tenants
  });

  it('prunes from the front with a signed checkpoint; the rest still verifies; a forged checkpoint is caught', async () => {
    const t0 = new Date(Date.now() - 10 * 86_400_000);
    const t = await chain(10, t0);
    const removed = await pruneAudit(fx.dbh.db, t, new Date(t0.getTime() + 4500), sealer.keyring);
    expect(removed).toBe(5);
    expect(await verifyAudit(fx.dbh.db, t, sealer)).toMatchObject({ ok: true, events: 5 });
    await appendAudit(fx.dbh.db, { tenantId: t, type: 'after.prune', actor: 'slack:U1' }, new Date(), sealer);
    expect(await verifyAudit(fx.dbh.db, t, sealer)).toMatchObject({ ok: true, events: 6 });
    // Deleting the first event after the checkpoint is still a missing event.
    await tamper(sql`delete from audit_events where tenant_id = ${t} and seq = 6`);
    expect((await verifyAudit(fx.dbh.db, t, sealer)).firstBad).toMatchObject({ seq: 7 });
    // Moving the checkpoint forward to hide it needs a valid signature.
    await tamper(sql`update audit_checkpoints set seq = 6, hash = (select prev_hash from audit_events where tenant_id = ${t} and seq = 7) where tenant_id = ${t}`);
    expect((await verifyAudit(fx.dbh.db, t, sealer)).firstBad?.reason).toMatch(/checkpoint signature is invalid/);
  });

  it('hoist audit verify (CLI) uses the master key: OK on a keyed chain, BROKEN on a truncated tail', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const key = randomBytes(32);
    const s = new Sealer(fx.dbh.db, new Keyring(key));
    const t = `slack:${uid('T')}`;
    await store.ensureTenant(t, 'slack');
    for (let i = 0; i < 3; i++) await appendAudit(fx.dbh.db, { tenantId: t, type: 'x', actor: 'slack:U9', data: { i } }, new Date(), s);
    const env = { ...process.env, DATABASE_URL: fx.url, HOIST_MASTER_KEY: key.toString('base64') };
    const ok = await run('node', ['bin/hoist.mjs', 'audit', 'verify', '--tenant', t], { env });
    expect(ok.stdout).toMatch(/audit chain OK: 3 events/);
    await tamper(sql`delete from audit_events where tenant_id = ${t} and seq = 3`);
    const bad = await run('node', ['bin/hoist.mjs', 'audit', 'verify', '--tenant', t], { env }).catch((e: { code: number; stdout: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stdout: string }).stdout).toMatch(/BROKEN at tenant .* truncated/);
  });
});
