/**
 * Retention with an injected clock against real PostgreSQL: rows seeded at 89/90/91 days
 * (364/365/366 for analytics, 399/400/401 for audit) — exactly those past their window go;
 * the audit chain still verifies after the cut; minimal content mode stores no text; the
 * BullMQ Job Scheduler runs the job on real Redis.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAudit } from '../../db/audit.ts';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { runRetention } from '../../db/privacy/retention.ts';
import { DAY_MS, updatePrivacySettings } from '../../db/privacy/settings.ts';
import { Store } from '../../db/repo.ts';
import { actions, analyticsEvents, auditEvents, llmRequests, llmThreadMessages } from '../../db/schema/index.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { MAINTENANCE_QUEUE, RETENTION_SCHEDULER_ID, startRetentionScheduler } from '../../workers/maintenance/retention-job.ts';
import { startHarness } from '../fixtures/harness.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';

let fx: Awaited<ReturnType<typeof freshDatabase>>;
let sealer: Sealer;
let store: Store;
const NOW = new Date('2031-06-15T12:00:00.000Z');
const ago = (days: number, extraMs = 0) => new Date(NOW.getTime() - days * DAY_MS + extraMs);

beforeAll(async () => {
  fx = await freshDatabase();
  sealer = new Sealer(fx.dbh.db, new Keyring(randomBytes(32)));
  store = new Store(fx.dbh.db);
});
afterAll(async () => { await fx?.drop(); });

async function seed(t: string) {
  await store.ensureTenant(t, 'slack');
  const db = fx.dbh.db;
  // Audit: one event per age, oldest first (seq follows time).
  for (const d of [401, 400, 399, 91, 90, 89]) {
    await appendAudit(db, { tenantId: t, type: 'message.received', actor: 'slack:U1', data: { text: `said at ${d}`, platform: 'slack' } }, ago(d), sealer);
    await appendAudit(db, { tenantId: t, type: 'action.proposed', actor: 'slack:U1', data: { kind: 'deploy', age: d } }, ago(d, 1), sealer);
  }
  for (const d of [91, 90, 89]) {
    await db.insert(llmRequests).values({ tenantId: t, model: 'm', promptVersion: 'p', request: { d }, response: {}, createdAt: ago(d) });
    await db.insert(llmThreadMessages).values({ tenantId: t, thread: 'c:1', speaker: 'h', text: `t${d}`, createdAt: ago(d) });
    await db.insert(actions).values({ id: uid('act-'), tenantId: t, kind: 'logs', params: {}, requestedBy: 'slack:U1', status: 'succeeded', conversation: {}, expiresAt: ago(d), result: `log lines ${d}`, createdAt: ago(d) });
  }
  for (const d of [366, 365, 364]) {
    await db.insert(analyticsEvents).values({ tenantId: t, userRef: 'an:x', platform: 'slack', command: 'apps', outcome: 'ok', latencyMs: 1, createdAt: ago(d) });
  }
}

describe('retention (injected clock, real PostgreSQL)', () => {
  it('removes exactly what is past its window and the audit chain still verifies', async () => {
    const t = `slack:${uid('T')}`;
    await seed(t);
    const report = await runRetention(fx.dbh.db, sealer, NOW, { tenantId: t });
    expect(report[t]).toMatchObject({ llmRequests: 1, threadMessages: 1, actionResults: 1, analyticsEvents: 1, auditEvents: 2 });
    const db = fx.dbh.db;
    expect((await db.select({ r: llmRequests.request }).from(llmRequests).where(eq(llmRequests.tenantId, t))).map((r) => r.r)).toEqual([{ d: 90 }, { d: 89 }]);
    expect((await db.select({ x: llmThreadMessages.text }).from(llmThreadMessages).where(eq(llmThreadMessages.tenantId, t))).map((r) => r.x).sort()).toEqual(['t89', 't90']);
    expect((await db.select({ r: actions.result }).from(actions).where(eq(actions.tenantId, t))).map((r) => r.r).sort()).toEqual(['log lines 89', 'log lines 90', null]);
    expect((await db.select({ c: analyticsEvents.createdAt }).from(analyticsEvents).where(eq(analyticsEvents.tenantId, t))).length).toBe(2);
    // Audit: the 401-day pair is cut; chat text older than 90 days is erased in place.
    const events = await db.select().from(auditEvents).where(eq(auditEvents.tenantId, t)).orderBy(auditEvents.seq);
    expect(events[0]!.seq).toBe(3);
    const texts = events.filter((e) => e.type === 'message.received').map((e) => e.data);
    expect(texts).toEqual([{ $erased: 'retention' }, { $erased: 'retention' }, { $erased: 'retention' },
      { text: 'said at 90', platform: 'slack' }, { text: 'said at 89', platform: 'slack' }]);
    expect(events.filter((e) => e.type === 'action.proposed').every((e) => !('$erased' in (e.data as object)))).toBe(true);
    expect(await verifyAudit(db, t, sealer)).toMatchObject({ ok: true, events: 10 });
    // Idempotent: a second run finds nothing due.
    const again = await runRetention(fx.dbh.db, sealer, NOW, { tenantId: t });
    expect(Object.values(again[t]!).every((n) => n === 0)).toBe(true);
  });

  it('honours per-tenant windows and never keeps audit events shorter than 90 days', async () => {
    const t = `slack:${uid('T')}`;
    await seed(t);
    await updatePrivacySettings(fx.dbh.db, t, { retention: { auditDays: 90, llmDays: 30 } });
    await expect(updatePrivacySettings(fx.dbh.db, t, { retention: { auditDays: 30 } })).rejects.toThrow();
    const r = await runRetention(fx.dbh.db, sealer, NOW, { tenantId: t });
    expect(r[t]).toMatchObject({ llmRequests: 3, auditEvents: 8 });
    expect(await verifyAudit(fx.dbh.db, t, sealer)).toMatchObject({ ok: true, events: 4 });
  });

  it('the BullMQ Job Scheduler runs retention (one scheduler however many workers start)', async () => {
    const prefix = uid('bull-');
    const logger = createLogger({ level: 'silent' });
    const connection = () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const t = `slack:${uid('T')}`;
    await store.ensureTenant(t, 'slack');
    await fx.dbh.db.insert(analyticsEvents).values({ tenantId: t, userRef: 'an:x', platform: 'slack', command: 'apps', outcome: 'ok', latencyMs: 1, createdAt: ago(400) });
    const clock = { now: () => NOW };
    const a = await startRetentionScheduler({ db: fx.dbh.db, sealer, clock, logger, prefix, connection, everyMs: 500 });
    const b = await startRetentionScheduler({ db: fx.dbh.db, sealer, clock, logger, prefix, connection, everyMs: 500 });
    try {
      const q = new Queue(MAINTENANCE_QUEUE, { connection: connection(), prefix });
      expect((await q.getJobSchedulers()).map((s) => s.key)).toEqual([RETENTION_SCHEDULER_ID]);
      const until = Date.now() + 15_000;
      while (Date.now() < until && (await fx.dbh.db.select().from(analyticsEvents).where(eq(analyticsEvents.tenantId, t))).length > 0) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await fx.dbh.db.select().from(analyticsEvents).where(eq(analyticsEvents.tenantId, t))).toHaveLength(0);
      await q.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('minimal content mode (pipeline)', () => {
  it('stores no message text at all: audit carries only metadata, the database holds none of the words', async () => {
    const h = await startHarness({ workers: false });
    try {
      await store.ensureTenant(h.tenantId, 'console');
      const s = new Store(h.fx.dbh.db);
      await s.ensureTenant(h.tenantId, 'console');
      await updatePrivacySettings(h.fx.dbh.db, h.tenantId, { contentMode: 'minimal' });
      const marker = `zebrafish${randomBytes(3).toString('hex')}`;
      await h.say('alice', `frobnicate the ${marker} please`);
      await h.say('alice', 'apps');
      await h.chat.waitFor(/No apps yet/);
      const rows = await h.fx.dbh.db.select().from(auditEvents).where(and(eq(auditEvents.tenantId, h.tenantId), eq(auditEvents.type, 'message.received')));
      expect(rows.length).toBe(2);
      for (const r of rows) expect(r.data).toEqual({ platform: 'console' });
      const dump = await h.fx.dbh.db.execute(sql`select string_agg(t::text, ' ') as all from audit_events t`);
      expect(JSON.stringify(dump)).not.toContain(marker);
      expect(JSON.stringify(dump)).not.toContain('frobnicate');
    } finally {
      await h.stop();
    }
  });
});
