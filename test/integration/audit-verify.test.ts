/**
 * verifyAudit's fast path (db/audit-verify.ts) against real PostgreSQL: created_at rendered by
 * SQL is exactly Date#toISOString of the stored value, and a failure reports the bad row's id
 * (pages carry no ids; it is looked up by tenant and seq).
 */
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, rowsOf, verifyAudit } from '../../db/audit.ts';
import { freshDatabase, uid } from '../fixtures/services.ts';

let fx: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { fx = await freshDatabase(); });
afterAll(async () => { await fx?.drop(); });

const tamper = (q: SQL) => fx.dbh.db.transaction(async (tx) => {
  await tx.execute(sql`set local session_replication_role = replica`);
  await tx.execute(q);
});

describe('audit verify fast path', () => {
  it('renders created_at in SQL exactly as Date#toISOString does (milliseconds truncated)', async () => {
    const stamps = ['1900-01-01 00:00:00Z', '1969-12-31 23:59:59.999999Z', '1970-01-01 00:00:00Z', '2000-02-29 12:34:56.0005Z',
      '2026-11-23 07:00:00.123999Z', '2026-06-01 02:00:00.5+02', '9998-12-31 23:59:59.9999995Z'];
    for (let i = 0; i < 200; i++) stamps.push(new Date(Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 4e12)).toISOString().replace('Z', `${Math.floor(Math.random() * 1000)}Z`));
    const rows = rowsOf<{ raw: string; iso: string }>(await fx.dbh.db.execute(sql`
      select t::text as raw, to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as iso
      from unnest(${`{${stamps.map((s) => `"${s}"`).join(',')}}`}::timestamptz[]) t`));
    expect(rows).toHaveLength(stamps.length);
    for (const r of rows) expect(r.iso).toBe(new Date(r.raw).toISOString());
  });

  it('verifies chains across pages and lanes, and reports the exact first bad row', async () => {
    const ts = [uid('tenant-a'), uid('tenant-b'), uid('tenant-c')];
    for (const t of ts) {
      for (let i = 0; i < 7; i++) {
        await appendAudit(fx.dbh.db, { tenantId: t, type: 'x', actor: i % 2 ? 'slack:U1' : null, data: { i, s: 'é"😀', n: [1.5, { b: null, a: {} }] } }, new Date(Date.UTC(2026, 0, 1, 0, 0, i, 123)));
      }
    }
    for (const opts of [{}, { parallel: 1, pageSize: 2 }, { parallel: 3, pageSize: 3 }]) {
      for (const t of ts) expect(await verifyAudit(fx.dbh.db, t, undefined, opts)).toEqual({ ok: true, tenants: 1, events: 7, unchecked: 0 });
    }
    const [a, b, c] = ts as [string, string, string];
    // Microseconds below the millisecond are not hashed (the hash covers what JS reads back).
    await tamper(sql`update audit_events set created_at = created_at + interval '876 microseconds' where tenant_id = ${a} and seq = 2`);
    expect(await verifyAudit(fx.dbh.db, a)).toMatchObject({ ok: true, events: 7 });
    await tamper(sql`update audit_events set created_at = created_at + interval '1 millisecond' where tenant_id = ${a} and seq = 5`);
    await tamper(sql`update audit_events set actor = null where tenant_id = ${b} and seq = 4`);
    await tamper(sql`delete from audit_events where tenant_id = ${c} and seq = 7`);
    const idOf = async (t: string, seq: number) => Number(rowsOf<{ id: string }>(await fx.dbh.db.execute(sql`select id from audit_events where tenant_id = ${t} and seq = ${seq}`))[0]!.id);
    for (const opts of [{}, { parallel: 1, pageSize: 2 }]) {
      expect(await verifyAudit(fx.dbh.db, a, undefined, opts)).toEqual({ ok: false, tenants: 1, events: 5, unchecked: 0,
        firstBad: { tenantId: a, seq: 5, id: await idOf(a, 5), reason: 'hash does not match the row: the event was edited' } });
      expect(await verifyAudit(fx.dbh.db, b, undefined, opts)).toEqual({ ok: false, tenants: 1, events: 4, unchecked: 0,
        firstBad: { tenantId: b, seq: 4, id: await idOf(b, 4), reason: 'actor was removed: the event was edited' } });
      expect((await verifyAudit(fx.dbh.db, c, undefined, opts)).firstBad).toEqual({ tenantId: c, seq: 7, id: await idOf(c, 6),
        reason: 'the chain ends at seq 6 but its head says seq 7: events were truncated from the tail or the head was edited' });
    }
  });
});
