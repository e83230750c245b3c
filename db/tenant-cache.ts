/**
 * Per-process cache of what the pipeline reads for every message of a tenant — the user's
 * role, the tenant's settings row (content mode, registry allowlist, LLM settings), its apps —
 * invalidated by PostgreSQL itself: triggers on tenants, roles and apps (migration 0008)
 * NOTIFY `hoist_tenant_changed` with the tenant id on every committed change, whoever made it
 * (another bot instance, the admin CLI, psql). Entries are dropped when the notification
 * arrives, so a cached value outlives the commit that changed it only by the delivery delay
 * (milliseconds on one host). The TTL bounds staleness in the one case notifications cannot
 * cover — the listening connection dropped and is reconnecting — and every (re)connect
 * clears the cache, since notifications sent meanwhile were lost.
 *
 * Safe against the read/notify race: each tenant has a generation, bumped on invalidation; a
 * value loaded under an older generation is returned to its caller but not kept. Concurrent
 * misses of one key share one query. Writes made through this process's Store call
 * `invalidate` at once as well (read-your-writes without waiting for the notification).
 *
 * Not used for decisions that must be exact at the instant they are taken: approvals re-read
 * the action row under a conditional UPDATE, workers read apps and settings uncached.
 */
import type { Db, DbHandle } from './client.ts';

export const TENANT_CHANNEL = 'hoist_tenant_changed';

interface Entry { gen: number; value: Promise<unknown>; expires: number; refreshing?: boolean }

export class TenantCache {
  private readonly gens = new Map<string, number>();
  private readonly byTenant = new Map<string, Map<string, Entry>>();
  private globalGen = 0;
  private size = 0;
  /** False until the listener is confirmed (and while it reconnects): every read goes to the database. */
  live = false;
  hits = 0;
  misses = 0;

  constructor(readonly opts: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {}

  private now() { return this.opts.now?.() ?? Date.now(); }
  private gen(tenantId: string) { return this.globalGen * 1e9 + (this.gens.get(tenantId) ?? 0); }

  async get<T>(tenantId: string, key: string, load: () => Promise<T>): Promise<T> {
    if (!this.live) return load();
    const now = this.now();
    const ttl = this.opts.ttlMs ?? 3_000;
    let m = this.byTenant.get(tenantId);
    const g = this.gen(tenantId);
    const e = m?.get(key);
    if (e && e.gen === g && e.expires > now) {
      this.hits++;
      // Refresh ahead: in the second half of its life a busy entry is reloaded in the background,
      // so the hard TTL bound never puts a query on a message's path.
      if (!e.refreshing && e.expires - now < ttl / 2) {
        e.refreshing = true;
        const next = Promise.resolve(load());
        next.then((v) => {
          const cur = this.byTenant.get(tenantId)?.get(key);
          if (cur === e && this.gen(tenantId) === g) m!.set(key, { gen: g, value: Promise.resolve(v), expires: this.now() + ttl });
        }, () => { e.refreshing = false; });
      }
      return e.value as Promise<T>;
    }
    this.misses++;
    if (this.size >= (this.opts.maxEntries ?? 50_000)) this.clear();
    // The generation as the load starts (a clear above moved it on).
    const startGen = this.gen(tenantId);
    // Promise.resolve: a thenable query builder runs once, however often the promise is awaited.
    const value = Promise.resolve(load());
    m = this.byTenant.get(tenantId);
    if (!m) this.byTenant.set(tenantId, (m = new Map()));
    if (!m.has(key)) this.size++;
    const entry: Entry = { gen: startGen, value, expires: now + ttl };
    m.set(key, entry);
    // A failed load is not remembered.
    value.catch(() => { if (this.byTenant.get(tenantId)?.get(key) === entry) this.drop(tenantId, key); });
    return value;
  }

  private drop(tenantId: string, key: string) {
    const m = this.byTenant.get(tenantId);
    if (m?.delete(key)) this.size--;
    if (m && !m.size) this.byTenant.delete(tenantId);
  }

  /** A tenant's entries go (its generation moves on, so loads already under way are not kept); '*' = all tenants. */
  invalidate(tenantId: string): void {
    if (tenantId === '*') return this.clear();
    this.gens.set(tenantId, (this.gens.get(tenantId) ?? 0) + 1);
    const m = this.byTenant.get(tenantId);
    if (m) { this.size -= m.size; this.byTenant.delete(tenantId); }
  }

  clear(): void {
    this.globalGen++;
    this.gens.clear();
    this.byTenant.clear();
    this.size = 0;
  }
}

const caches = new WeakMap<Db, TenantCache>();

/** The cache attached to a database handle, if `attachTenantCache` ran for it. */
export const tenantCacheOf = (db: Db): TenantCache | undefined => caches.get(db);

/** Read through the handle's cache when there is one, else straight from the database. */
export function cachedRead<T>(db: Db, tenantId: string, key: string, load: () => Promise<T>): Promise<T> {
  const c = caches.get(db);
  return c ? c.get(tenantId, key, load) : load();
}

/** Drop a tenant's entries in this process now (after a write made here). */
export function invalidateTenant(db: Db, tenantId: string): void {
  caches.get(db)?.invalidate(tenantId);
}

/**
 * Starts listening for tenant changes on the handle and attaches a cache to its `db`. Returns
 * a stop function. If the handle cannot listen, no cache is attached (reads stay uncached).
 */
export async function attachTenantCache(dbh: DbHandle, opts: ConstructorParameters<typeof TenantCache>[0] = {}): Promise<{ cache?: TenantCache; stop(): Promise<void> }> {
  if (!dbh.listen) return { stop: async () => undefined };
  const existing = caches.get(dbh.db);
  if (existing) return { cache: existing, stop: async () => undefined };
  const cache = new TenantCache(opts);
  const stop = await dbh.listen(TENANT_CHANNEL, (payload) => cache.invalidate(payload), () => {
    // (Re)connected: anything notified while we were not listening is lost — start afresh.
    cache.clear();
    cache.live = true;
  }, () => { cache.live = false; });
  caches.set(dbh.db, cache);
  return { cache, stop: async () => { cache.live = false; caches.delete(dbh.db); await stop(); } };
}
