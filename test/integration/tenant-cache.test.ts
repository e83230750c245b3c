/**
 * db/tenant-cache.ts against real PostgreSQL (and embedded PGlite): a change committed by
 * ANOTHER connection (another instance, the admin CLI, psql) reaches the cache through the
 * triggers of migration 0008, so a revoked role or a switched content mode is not served from
 * memory; repeated reads hit the cache; the read/notify race never keeps a stale value.
 */
import { count as sqlCount } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createDb } from '../../db/client.ts';
import { createPrivacyService } from '../../db/privacy/service.ts';
import { Sealer } from '../../db/crypto.ts';
import { Store } from '../../db/repo.ts';
import { analyticsEvents } from '../../db/schema/index.ts';
import { attachTenantCache, TenantCache } from '../../db/tenant-cache.ts';
import { freshDatabase } from '../fixtures/services.ts';

const until = async (f: () => Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await f()) return true; await new Promise((r) => setTimeout(r, 5)); }
  return false;
};

describe('tenant cache, invalidated by PostgreSQL notifications', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let other: postgres.Sql;
  let att: Awaited<ReturnType<typeof attachTenantCache>>;
  beforeAll(async () => {
    fx = await freshDatabase();
    other = postgres(fx.url, { max: 1, onnotice: () => undefined });
    att = await attachTenantCache(fx.dbh, { ttlMs: 60_000 });
  });
  afterAll(async () => { await att?.stop(); await other?.end(); await fx?.drop(); });

  it('serves repeated reads from memory and sees a revocation made by another connection', async () => {
    const store = new Store(fx.dbh.db, { cached: true });
    const cache = att.cache!;
    expect(cache.live).toBe(true);
    await store.ensureTenant('slack:T1', 'slack');
    await other`insert into roles (tenant_id, user_id, role, granted_by) values ('slack:T1', 'U1', 'admin', 'test')`;
    expect(await until(async () => (await store.getRole('slack:T1', 'U1')) === 'admin')).toBe(true);
    await new Promise((r) => setTimeout(r, 50)); // the insert's notice has arrived (and dropped the entry)
    expect(await store.getRole('slack:T1', 'U1')).toBe('admin');
    const before = cache.hits;
    for (let i = 0; i < 20; i++) expect(await store.getRole('slack:T1', 'U1')).toBe('admin');
    expect(cache.hits - before).toBe(20);
    // Revoked elsewhere: the committed change is announced; the next reads see it.
    await other`delete from roles where tenant_id = 'slack:T1' and user_id = 'U1'`;
    expect(await until(async () => (await store.getRole('slack:T1', 'U1')) === undefined, 1000)).toBe(true);
    // Other tenants' entries are untouched by T1's change.
    await store.ensureTenant('slack:T2', 'slack');
    await other`insert into roles (tenant_id, user_id, role, granted_by) values ('slack:T2', 'U2', 'approver', 'test')`;
    expect(await until(async () => (await store.getRole('slack:T2', 'U2')) === 'approver')).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.getRole('slack:T2', 'U2')).toBe('approver');
    await other`update tenants set settings = '{"x":1}' where id = 'slack:T1'`;
    await new Promise((r) => setTimeout(r, 50));
    const h2 = cache.hits;
    expect(await store.getRole('slack:T2', 'U2')).toBe('approver');
    expect(cache.hits - h2).toBe(1);
  });

  it('content mode switched by another process takes effect for the next message', async () => {
    const sealer = new Sealer(fx.dbh.db, Buffer.alloc(32, 7));
    const privacy = createPrivacyService({ db: fx.dbh.db, sealer, clock: { now: () => new Date() }, exportDir: '/tmp' });
    await new Store(fx.dbh.db).ensureTenant('slack:T3', 'slack');
    expect(await privacy.contentMode('slack:T3')).toBe('full');
    expect(await privacy.contentMode('slack:T3')).toBe('full');
    await other`update tenants set settings = settings || '{"privacy":{"contentMode":"minimal"}}'::jsonb where id = 'slack:T3'`;
    expect(await until(async () => (await privacy.contentMode('slack:T3')) === 'minimal', 1000)).toBe(true);
  });

  it('apps created or changed by the workers (another connection) are listed at once after the notice', async () => {
    const store = new Store(fx.dbh.db, { cached: true });
    await store.ensureTenant('slack:T4', 'slack');
    expect(await store.listApps('slack:T4')).toEqual([]);
    await other`insert into apps (tenant_id, name, image, port) values ('slack:T4', 'web', 'img:1', 80)`;
    expect(await until(async () => (await store.listApps('slack:T4')).length === 1, 1000)).toBe(true);
    // A write through this process's Store is visible to its next read without waiting.
    await store.setAppDesired('slack:T4', 'web', { replicas: 3 });
    expect((await store.getApp('slack:T4', 'web'))?.replicas).toBe(3);
    // TRUNCATE names no tenant: every entry goes.
    expect(await store.getRole('slack:T2', 'U2')).toBe('approver');
    await other`truncate roles`;
    expect(await until(async () => (await store.getRole('slack:T2', 'U2')) === undefined, 1000)).toBe(true);
  });

  it('a value read before an invalidation arrives is returned to its caller but never kept', async () => {
    const c = new TenantCache({ ttlMs: 60_000 });
    c.live = true;
    let release: (v: string) => void = () => undefined;
    const slow = c.get('t', 'k', () => new Promise<string>((r) => { release = r; }));
    c.invalidate('t'); // the change committed while the old value was being read
    release('old');
    expect(await slow).toBe('old');
    expect(await c.get('t', 'k', async () => 'new')).toBe('new');
    expect(await c.get('t', 'k', async () => 'newer')).toBe('new');
    c.invalidate('*');
    expect(await c.get('t', 'k', async () => 'after-all')).toBe('after-all');
    // Not live (listener down or not yet confirmed): nothing is served from memory.
    c.live = false;
    expect(await c.get('t', 'k', async () => 'fresh')).toBe('fresh');
  });

  it('refreshes a busy entry ahead of its expiry, never past the hard bound', async () => {
    let t = 0;
    const c = new TenantCache({ ttlMs: 1000, now: () => t });
    c.live = true;
    let n = 0;
    const load = async () => `v${++n}`;
    expect(await c.get('t', 'k', load)).toBe('v1');
    t = 400;
    expect(await c.get('t', 'k', load)).toBe('v1'); // young: no reload
    expect(n).toBe(1);
    t = 700;
    expect(await c.get('t', 'k', load)).toBe('v1'); // old half: served, reloaded behind
    await new Promise((r) => setTimeout(r, 0));
    expect(n).toBe(2);
    t = 1100; // past the first load's expiry, young in the refreshed one's life
    expect(await c.get('t', 'k', load)).toBe('v2');
    expect(c.misses).toBe(1);
    t = 5000; // nobody asked meanwhile: a plain miss
    expect(await c.get('t', 'k', load)).toBe('v3');
  });

  it('stays bounded: past maxEntries it starts afresh and keeps serving', async () => {
    const c = new TenantCache({ maxEntries: 3 });
    c.live = true;
    for (let i = 0; i < 10; i++) expect(await c.get(`t${i % 5}`, 'k', async () => i)).toBe(i);
    expect(await c.get('t4', 'k', async () => -1)).toBe(9); // the newest entry survived the last reset
  });

  it('a failed read is not remembered; concurrent misses share one query', async () => {
    const c = new TenantCache();
    c.live = true;
    await expect(c.get('t', 'k', async () => { throw new Error('db down'); })).rejects.toThrow('db down');
    let n = 0;
    const load = async () => { n++; await new Promise((r) => setTimeout(r, 10)); return 'v'; };
    expect(await Promise.all([c.get('t', 'k', load), c.get('t', 'k', load), c.get('t', 'k', load)])).toEqual(['v', 'v', 'v']);
    expect(n).toBe(1);
  });

  it('can be switched off (behind a transaction-mode pooler) and rejects a bad value by name', () => {
    expect(parseConfig({ HOIST_TENANT_CACHE: 'off' }, 'cli').HOIST_TENANT_CACHE).toBe('off');
    expect(parseConfig({}, 'cli').HOIST_TENANT_CACHE).toBe('on');
    expect(() => parseConfig({ HOIST_TENANT_CACHE: 'maybe' }, 'cli')).toThrow(/HOIST_TENANT_CACHE/);
  });

  it('works the same on embedded PGlite', async () => {
    const dbh = await createDb({});
    await dbh.migrate();
    const a = await attachTenantCache(dbh);
    try {
      const store = new Store(dbh.db, { cached: true });
      await store.ensureTenant('console:local', 'console');
      expect(await store.getRole('console:local', 'u')).toBeUndefined();
      await dbh.db.execute(`insert into roles (tenant_id, user_id, role, granted_by) values ('console:local', 'u', 'viewer', 'x')` as never);
      expect(await until(async () => (await store.getRole('console:local', 'u')) === 'viewer', 1000)).toBe(true);
    } finally {
      await a.stop();
      await dbh.close();
    }
  });
});

describe('usage rows (group commit)', () => {
  it('concurrent messages\' usage rows are all committed when their promises resolve; a bad row fails alone', async () => {
    const fx = await freshDatabase();
    try {
      const sealer = new Sealer(fx.dbh.db, Buffer.alloc(32, 9));
      const privacy = createPrivacyService({ db: fx.dbh.db, sealer, clock: { now: () => new Date() }, exportDir: '/tmp' });
      await new Store(fx.dbh.db).ensureTenant('slack:TU', 'slack');
      const one = (i: number, latencyMs = i) => privacy.recordUsage({ tenantId: 'slack:TU', userId: `slack:U${i}`, platform: 'slack', command: 'status', outcome: 'ok', latencyMs });
      const count = async () => Number((await fx.dbh.db.select({ n: sqlCount() }).from(analyticsEvents))[0]!.n);
      await Promise.all(Array.from({ length: 60 }, (_, i) => one(i)));
      expect(await count()).toBe(60);
      // Sent together, so they share a batch: the one the column refuses (latency beyond int4) fails alone.
      const results = await Promise.allSettled([one(99), one(100), one(101, 1e12), one(102)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(await count()).toBe(63);
    } finally {
      await fx.drop();
    }
  });
});
