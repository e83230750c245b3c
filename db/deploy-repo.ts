/**
 * Rows the deploy engine reads and writes beyond db/repo.ts: the per-app rollout lease
 * (db/schema/deploy.ts), app deploy settings, tenant deploy settings (registry allowlist)
 * and the deployment history the reconciler and image pruning need. Lease times come from
 * the database clock (`now()`), so workers on machines with skewed clocks still agree.
 */
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { actions, apps, deployLeases, deployments, tenants } from './schema/index.ts';
import { invalidateTenant } from './tenant-cache.ts';

export type LeaseResult = { acquired: true } | { acquired: false; holder: string; since: Date };
export type RouteRow = { tenantId: string; app: string; endpointPort: number; desired: string; deploymentId: string | null; hostPorts: unknown; config: unknown };

/** What an app keeps between deployments (apps.settings). */
export interface AppDeploySettings {
  source?: string;
  ref?: string;
  dockerfile?: string;
  healthPath?: string;
  target?: string;
}

export class DeployRepo {
  constructor(readonly db: Db) {}

  /**
   * Takes the lease of (tenant, app) for `holder` when it is free, expired, already held by
   * `holder` (a re-run after a crash), or held by an action that has ended.
   */
  async acquireLease(tenantId: string, app: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    const secs = ttlMs / 1000;
    const won = await this.db.insert(deployLeases)
      .values({ tenantId, app, holder, expiresAt: sql`now() + make_interval(secs => ${secs})` })
      .onConflictDoUpdate({
        target: [deployLeases.tenantId, deployLeases.app],
        set: { holder, acquiredAt: sql`now()`, expiresAt: sql`now() + make_interval(secs => ${secs})` },
        setWhere: sql`${deployLeases.holder} = ${holder} or ${deployLeases.expiresAt} < now() or exists (
          select 1 from ${actions} where ${actions.id} = ${deployLeases.holder}
          and ${actions.status} in ('succeeded', 'failed', 'cancelled', 'expired'))`,
      })
      .returning({ holder: deployLeases.holder });
    if (won.length > 0) return { acquired: true };
    const [cur] = await this.db.select().from(deployLeases).where(and(eq(deployLeases.tenantId, tenantId), eq(deployLeases.app, app)));
    // Released between the two statements: the caller simply tries again.
    if (!cur) return this.acquireLease(tenantId, app, holder, ttlMs);
    return { acquired: false, holder: cur.holder, since: cur.acquiredAt };
  }

  /** False when the lease is no longer ours (it expired and another action took it). */
  async renewLease(tenantId: string, app: string, holder: string, ttlMs: number): Promise<boolean> {
    const r = await this.db.update(deployLeases)
      .set({ expiresAt: sql`now() + make_interval(secs => ${ttlMs / 1000})` })
      .where(and(eq(deployLeases.tenantId, tenantId), eq(deployLeases.app, app), eq(deployLeases.holder, holder)))
      .returning({ holder: deployLeases.holder });
    return r.length > 0;
  }

  async releaseLease(tenantId: string, app: string, holder: string): Promise<void> {
    await this.db.delete(deployLeases)
      .where(and(eq(deployLeases.tenantId, tenantId), eq(deployLeases.app, app), eq(deployLeases.holder, holder)));
  }

  /** Apps whose lease is live (a rollout in progress): the reconciler leaves them alone. */
  async leasedApps(): Promise<Array<{ tenantId: string; app: string }>> {
    return this.db.select({ tenantId: deployLeases.tenantId, app: deployLeases.app }).from(deployLeases)
      .where(sql`${deployLeases.expiresAt} > now()`);
  }

  /** Which of `ids` are tenants of this installation (another Hoist may share the engine). */
  async knownTenants(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.select({ id: tenants.id }).from(tenants).where(inArray(tenants.id, ids));
    return new Set(rows.map((r) => r.id));
  }

  async allApps() {
    return this.db.select().from(apps).orderBy(apps.tenantId, apps.name);
  }

  /** The app row, uncached (the reconciler re-reads it under the app's lease). */
  async app(tenantId: string, name: string) {
    const [row] = await this.db.select().from(apps).where(and(eq(apps.tenantId, tenantId), eq(apps.name, name)));
    return row;
  }

  async appSettings(tenantId: string, app: string): Promise<AppDeploySettings> {
    const [row] = await this.db.select({ s: apps.settings }).from(apps).where(and(eq(apps.tenantId, tenantId), eq(apps.name, app)));
    return (row?.s ?? {}) as AppDeploySettings;
  }

  /** Merges `patch` into apps.settings; `undefined` values remove the key. */
  async patchAppSettings(tenantId: string, app: string, patch: AppDeploySettings): Promise<void> {
    const cur = await this.appSettings(tenantId, app);
    const next: Record<string, unknown> = { ...cur };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    await this.db.update(apps).set({ settings: next }).where(and(eq(apps.tenantId, tenantId), eq(apps.name, app)));
    invalidateTenant(this.db, tenantId);
  }

  async tenantSettings(tenantId: string): Promise<Record<string, unknown>> {
    const [row] = await this.db.select({ s: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId));
    return (row?.s ?? {}) as Record<string, unknown>;
  }

  async setTenantSetting(tenantId: string, key: string, value: unknown): Promise<void> {
    await this.db.update(tenants)
      .set({ settings: sql`jsonb_set(${tenants.settings}, ${`{${key}}`}::text[], ${JSON.stringify(value)}::jsonb, true)` })
      .where(eq(tenants.id, tenantId));
    invalidateTenant(this.db, tenantId);
  }

  async recordBuild(deploymentId: string, source: string, commitSha: string, image: string): Promise<void> {
    await this.db.update(deployments).set({ source, commitSha, image }).where(eq(deployments.id, deploymentId));
  }

  async setDeploymentConfig(deploymentId: string, config: Record<string, unknown>): Promise<void> {
    await this.db.update(deployments).set({ config }).where(eq(deployments.id, deploymentId));
  }

  /** Published host ports of a deployment's replicas: the proxy's targets while it is current. */
  async setHostPorts(deploymentId: string, hostPorts: number[], replicaHost?: string): Promise<void> {
    await this.db.update(deployments)
      .set({ hostPorts, ...(replicaHost ? { config: sql`${deployments.config} || ${JSON.stringify({ replicaHost })}::jsonb` } : {}) })
      .where(eq(deployments.id, deploymentId));
  }

  /**
   * The app's stable endpoint port, allocated on first use: the first port of [lo, hi], from
   * `start` on and wrapping, that no app holds and `usable` accepts. The unique index settles
   * a race between two workers; the loser simply tries the next port.
   */
  async endpointPort(tenantId: string, app: string, range: { lo: number; hi: number }, usable: (port: number) => Promise<boolean>, start = range.lo): Promise<number | undefined> {
    const where = and(eq(apps.tenantId, tenantId), eq(apps.name, app));
    const [row] = await this.db.select({ p: apps.endpointPort }).from(apps).where(where);
    if (!row) return undefined;
    if (row.p) return row.p;
    const taken = new Set((await this.db.select({ p: apps.endpointPort }).from(apps).where(sql`${apps.endpointPort} is not null`)).map((r) => r.p));
    const span = range.hi - range.lo + 1;
    for (let i = 0; i < span; i++) {
      const port = range.lo + ((start - range.lo + i) % span);
      if (taken.has(port) || !(await usable(port))) continue;
      try {
        const won = await this.db.update(apps).set({ endpointPort: port }).where(and(where, sql`${apps.endpointPort} is null`)).returning({ p: apps.endpointPort });
        if (won[0]?.p) return won[0].p;
        return this.endpointPort(tenantId, app, range, usable, start); // someone else set it meanwhile
      } catch (e) {
        if ((e as { code?: unknown; cause?: { code?: unknown } }).code !== '23505' && (e as { cause?: { code?: unknown } }).cause?.code !== '23505') throw e;
      }
    }
    return undefined;
  }

  /** The proxy's routing table: every app with an endpoint, its current deployment's replica ports. */
  async routes(): Promise<RouteRow[]> {
    return this.routeRows(sql`${apps.endpointPort} is not null`);
  }

  /** One app's row of the routing table (the switch of one rollout reloads only that). */
  async route(tenantId: string, app: string): Promise<RouteRow | undefined> {
    const [r] = await this.routeRows(and(sql`${apps.endpointPort} is not null`, eq(apps.tenantId, tenantId), eq(apps.name, app))!);
    return r;
  }

  private async routeRows(where: SQL): Promise<RouteRow[]> {
    const rows = await this.db.select({
      tenantId: apps.tenantId, app: apps.name, endpointPort: apps.endpointPort, desired: apps.desired,
      deploymentId: apps.currentDeploymentId, hostPorts: deployments.hostPorts, config: deployments.config,
    }).from(apps).leftJoin(deployments, eq(deployments.id, apps.currentDeploymentId)).where(where);
    return rows.map((r) => ({ ...r, endpointPort: r.endpointPort! }));
  }


  async deployments(tenantId: string, app: string, limit = 100) {
    return this.db.select().from(deployments).where(and(eq(deployments.tenantId, tenantId), eq(deployments.app, app)))
      .orderBy(desc(deployments.createdAt)).limit(limit);
  }

  async deploymentsByIds(ids: string[]) {
    if (ids.length === 0) return [];
    return this.db.select().from(deployments).where(inArray(deployments.id, ids));
  }

  /** The app's most recent action, whose thread hears about drift. */
  async lastActionOf(tenantId: string, app: string) {
    const [a] = await this.db.select({ id: actions.id }).from(actions)
      .where(and(eq(actions.tenantId, tenantId), eq(actions.app, app), inArray(actions.status, ['succeeded', 'failed', 'running'])))
      .orderBy(desc(actions.createdAt)).limit(1);
    return a?.id;
  }
}
