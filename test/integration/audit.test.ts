import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAudit } from '../../db/audit.ts';
import { freshDatabase, uid } from '../fixtures/services.ts';

const run = promisify(execFile);
let fx: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => { fx = await freshDatabase(); });

/** Tampering as a DB superuser does it: triggers off (the append-only trigger refuses the app). */
const tamper = (q: SQL) => fx.dbh.db.transaction(async (tx) => {
  await tx.execute(sql`set local session_replication_role = replica`);
  await tx.execute(q);
});
afterAll(async () => { await fx?.drop(); });

async function hoistAuditVerify(tenant?: string) {
  try {
    const r = await run('node', ['bin/hoist.mjs', 'audit', 'verify', ...(tenant ? ['--tenant', tenant] : [])], {
      env: { ...process.env, DATABASE_URL: fx.url },
    });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

describe('audit hash chain (real PostgreSQL)', () => {
  it('chains concurrent appends without forks, and verifies', async () => {
    const t = uid('tenant-');
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendAudit(fx.dbh.db, { tenantId: t, type: 'test.event', data: { i } })));
    const r = await verifyAudit(fx.dbh.db, t);
    expect(r).toMatchObject({ ok: true, events: 40 });
  });

  it('hoist audit verify succeeds on a fresh history and fails after a row is edited by hand', async () => {
    const t = uid('tenant-');
    for (let i = 0; i < 5; i++) await appendAudit(fx.dbh.db, { tenantId: t, type: 'deploy.step', actor: 'slack:U1', data: { i } });
    const ok = await hoistAuditVerify(t);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/audit chain OK: 5 events/);
    await tamper(sql`update audit_events set data = '{"i":99}'::jsonb where tenant_id = ${t} and seq = 3`);
    const bad = await hoistAuditVerify(t);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(new RegExp(`BROKEN at tenant ${t} seq 3 .*edited`));
  });

  it('detects a deleted row and an inserted row', async () => {
    const t = uid('tenant-');
    for (let i = 0; i < 4; i++) await appendAudit(fx.dbh.db, { tenantId: t, type: 'x', data: { i } });
    await tamper(sql`delete from audit_events where tenant_id = ${t} and seq = 2`);
    expect((await verifyAudit(fx.dbh.db, t)).firstBad).toMatchObject({ seq: 3 });

    const t2 = uid('tenant-');
    for (let i = 0; i < 3; i++) await appendAudit(fx.dbh.db, { tenantId: t2, type: 'x', data: { i } });
    // An inserted forgery that copies the previous link but not a valid hash.
    await tamper(sql`update audit_events set seq = seq + 1 where tenant_id = ${t2} and seq = 3`);
    await tamper(sql`insert into audit_events (tenant_id, seq, type, data, created_at, prev_hash, hash)
      select tenant_id, 3, 'forged', '{}'::jsonb, now(), hash, repeat('f', 64) from audit_events where tenant_id = ${t2} and seq = 2`);
    const r = await verifyAudit(fx.dbh.db, t2);
    expect(r.ok).toBe(false);
    expect(r.firstBad).toMatchObject({ seq: 3 });
  });
});
