/**
 * Repositories over the schema. State changes are conditional updates
 * (`... WHERE status = 'pending'`) so two concurrent approvals, a retried job or a
 * redelivered event can each win at most once; callers read the returned row to know.
 */
import { and, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { rowsOf } from './audit.ts';
import { groupCommit } from './group-commit.ts';
import { addToOutbox, OutboxRepo } from './outbox.ts';
import { cachedRead, invalidateTenant } from './tenant-cache.ts';
import { actions, apps, deployments, envVars, processedEvents, roles, sealedSecrets, tenants } from './schema/index.ts';

export type ActionRow = typeof actions.$inferSelect;
export type AppRow = typeof apps.$inferSelect;
export type DeploymentRow = typeof deployments.$inferSelect;
export type ActionStatus = 'pending' | 'approved' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
export const TERMINAL: ActionStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

/** How long a tenant row seen by ensureTenant is taken as present without asking again. */
const TENANT_KNOWN_MS = 60_000;
const knownTenants = new WeakMap<Db, Map<string, number>>();

type ActionInsert = typeof actions.$inferInsert;
type Inserted = { id: string; created_at: string | Date };

/**
 * Action rows by group commit (db/group-commit.ts), one writer per handle and kind: the rows go
 * as one JSON parameter, so the statement text is fixed (prepared once, db/client.ts) whatever
 * the batch size, and nothing is built per row but its JSON.
 */
const actionWriters = new WeakMap<Db, Record<'plain' | 'withOutbox', (a: ActionInsert) => Promise<Inserted>>>();
function actionInserts(db: Db) {
  let w = actionWriters.get(db);
  if (!w) {
    const write = (withOutbox: boolean) => async (rows: ActionInsert[]): Promise<Inserted[]> => {
      const at = (d: Date | null | undefined) => (d ? d.toISOString() : null);
      const json = JSON.stringify(rows.map((a) => ({
        id: a.id, tenant_id: a.tenantId, kind: a.kind, app: a.app ?? null, params: a.params, requested_by: a.requestedBy, status: a.status,
        conversation: a.conversation, environment: a.environment ?? null, expires_at: at(a.expiresAt), decided_by: a.decidedBy ?? null,
        decided_at: at(a.decidedAt), enqueued_at: at(a.enqueuedAt), finished_at: at(a.finishedAt), deployment_id: a.deploymentId ?? null,
        result: a.result ?? null, reported_at: at(a.reportedAt), created_at: at(a.createdAt),
      })));
      const insert = sql`insert into actions (id, tenant_id, kind, app, params, requested_by, status, conversation, environment, expires_at,
          decided_by, decided_at, enqueued_at, finished_at, deployment_id, result, reported_at, created_at)
        select v.id, v.tenant_id, v.kind, v.app, v.params, v.requested_by, v.status, v.conversation, v.environment, v.expires_at,
          v.decided_by, v.decided_at, v.enqueued_at, v.finished_at, v.deployment_id, v.result, v.reported_at, coalesce(v.created_at, now())
        from json_to_recordset(${json}::json) as v(id text, tenant_id text, kind text, app text, params jsonb, requested_by text, status text,
          conversation jsonb, environment text, expires_at timestamptz, decided_by text, decided_at timestamptz, enqueued_at timestamptz,
          finished_at timestamptz, deployment_id text, result text, reported_at timestamptz, created_at timestamptz)
        returning id, tenant_id, created_at`;
      const res = await db.execute(withOutbox
        ? sql`with a as (${insert}),
            o as (insert into outbox (tenant_id, action_id) select tenant_id, id from a on conflict do nothing)
          select id, created_at from a`
        : insert);
      const byId = new Map(rowsOf<Inserted>(res).map((r) => [r.id, r]));
      return rows.map((a) => {
        const r = byId.get(a.id);
        if (!r) throw new Error(`action ${a.id} was not created`);
        return r;
      });
    };
    actionWriters.set(db, (w = { plain: groupCommit(write(false)), withOutbox: groupCommit(write(true)) }));
  }
  return w;
}

/**
 * The per-job reads and claims of the worker and reporter as drizzle prepared queries, built once
 * per handle (building a select of every column was ~8 % of a `status`'s CPU, the claim's update
 * another few).
 */
const preparedQueries = new WeakMap<Db, ReturnType<typeof prepareQueries>>();
function prepareQueries(db: Db) {
  const id = sql.placeholder('id');
  return {
    getAction: db.select().from(actions).where(eq(actions.id, id)).prepare('hoist_get_action'),
    claimReport: db.update(actions).set({ reportedAt: sql`${sql.placeholder('now')}::timestamptz` })
      .where(and(eq(actions.id, id), isNull(actions.reportedAt))).returning().prepare('hoist_claim_report'),
    claimReportOf: db.update(actions).set({ reportedAt: sql`${sql.placeholder('now')}::timestamptz` })
      .where(and(eq(actions.id, id), eq(actions.tenantId, sql.placeholder('tenantId')), isNull(actions.reportedAt))).returning()
      .prepare('hoist_claim_report_of'),
  };
}
function queriesOf(db: Db) {
  let q = preparedQueries.get(db);
  if (!q) preparedQueries.set(db, (q = prepareQueries(db)));
  return q;
}

export class Store {
  /**
   * `cached`: the per-message reads (role, tenant settings, app, app list) go through the
   * handle's tenant cache (db/tenant-cache.ts: invalidated by PostgreSQL notifications) when
   * one is attached. Only the bot's pipeline asks for it; workers read fresh.
   */
  constructor(readonly db: Db, private readonly opts: { cached?: boolean } = {}) {}

  private read<T>(tenantId: string, key: string, load: () => Promise<T>): Promise<T> {
    return this.opts.cached ? cachedRead(this.db, tenantId, key, load) : load();
  }

  /**
   * Idempotent; remembered per database handle for a minute, so a busy tenant's messages do
   * not each pay an INSERT. (A tenant deleted meanwhile is recreated on the first call after
   * that; `forgetTenant` drops the memory at once.)
   */
  async ensureTenant(id: string, platform: string): Promise<void> {
    let known = knownTenants.get(this.db);
    if (!known) knownTenants.set(this.db, (known = new Map()));
    const now = Date.now();
    if ((known.get(id) ?? 0) > now) return;
    await this.db.insert(tenants).values({ id, platform }).onConflictDoNothing();
    known.set(id, now + TENANT_KNOWN_MS);
  }

  forgetTenant(id: string): void {
    knownTenants.get(this.db)?.delete(id);
    invalidateTenant(this.db, id);
  }

  async getRole(tenantId: string, userId: string): Promise<string | undefined> {
    return this.read(tenantId, `role\0${userId}`, async () => {
      const [r] = await this.db.select({ role: roles.role }).from(roles)
        .where(and(eq(roles.tenantId, tenantId), eq(roles.userId, userId)));
      return r?.role;
    });
  }

  async setRole(tenantId: string, userId: string, role: string, grantedBy: string): Promise<void> {
    await this.db.insert(roles).values({ tenantId, userId, role, grantedBy })
      .onConflictDoUpdate({ target: [roles.tenantId, roles.userId], set: { role, grantedBy } });
    invalidateTenant(this.db, tenantId);
  }

  async removeRole(tenantId: string, userId: string): Promise<boolean> {
    const r = await this.db.delete(roles).where(and(eq(roles.tenantId, tenantId), eq(roles.userId, userId))).returning();
    invalidateTenant(this.db, tenantId);
    return r.length > 0;
  }

  /** tenants.settings (e.g. `registries`, the image registry allowlist); {} for an unknown tenant. Treat as read-only. */
  async tenantSettings(tenantId: string): Promise<Record<string, unknown>> {
    return this.read(tenantId, 'settings', () => readTenantSettings(this.db, tenantId));
  }

  // ── apps ──
  /** Treat the row as read-only (with `cached`, callers share it). */
  async getApp(tenantId: string, name: string): Promise<AppRow | undefined> {
    return this.read(tenantId, `app\0${name}`, async () => {
      const [a] = await this.db.select().from(apps).where(and(eq(apps.tenantId, tenantId), eq(apps.name, name)));
      return a;
    });
  }

  async listApps(tenantId: string): Promise<AppRow[]> {
    return this.read(tenantId, 'apps', async () => this.db.select().from(apps).where(eq(apps.tenantId, tenantId)).orderBy(apps.name));
  }

  async upsertApp(a: typeof apps.$inferInsert): Promise<void> {
    await this.db.insert(apps).values(a).onConflictDoUpdate({
      target: [apps.tenantId, apps.name],
      set: {
        image: a.image, port: a.port ?? null, environment: a.environment ?? 'default', replicas: a.replicas ?? 1,
        desired: a.desired ?? 'running', currentDeploymentId: a.currentDeploymentId ?? null, updatedAt: new Date(),
      },
    });
    invalidateTenant(this.db, a.tenantId);
  }

  async setAppDesired(tenantId: string, name: string, patch: Partial<Pick<AppRow, 'desired' | 'replicas' | 'currentDeploymentId'>>): Promise<void> {
    await this.db.update(apps).set({ ...patch, updatedAt: new Date() }).where(and(eq(apps.tenantId, tenantId), eq(apps.name, name)));
    invalidateTenant(this.db, tenantId);
  }

  // ── env vars (ciphertext only) ──
  async setEnvVar(tenantId: string, app: string, key: string, ciphertext: Buffer): Promise<void> {
    await this.db.insert(envVars).values({ tenantId, app, key, ciphertext })
      .onConflictDoUpdate({ target: [envVars.tenantId, envVars.app, envVars.key], set: { ciphertext, updatedAt: new Date() } });
  }

  async unsetEnvVar(tenantId: string, app: string, key: string): Promise<boolean> {
    const r = await this.db.delete(envVars).where(and(eq(envVars.tenantId, tenantId), eq(envVars.app, app), eq(envVars.key, key))).returning();
    return r.length > 0;
  }

  async envVarRows(tenantId: string, app: string) {
    return this.db.select().from(envVars).where(and(eq(envVars.tenantId, tenantId), eq(envVars.app, app))).orderBy(envVars.key);
  }

  // ── actions ──
  async createAction(a: typeof actions.$inferInsert): Promise<ActionRow> {
    return this.insertAction(a, false);
  }

  /**
   * One action row (and, for a read created approved, its outbox row in the same statement: both
   * or neither), through the handle's group commit (actionInserts above): concurrent messages'
   * rows go in one statement. The row is returned from what was written plus created_at.
   */
  private async insertAction(a: typeof actions.$inferInsert, withOutbox: boolean): Promise<ActionRow> {
    const r = await actionInserts(this.db)[withOutbox ? 'withOutbox' : 'plain'](a);
    return {
      kind: a.kind, tenantId: a.tenantId, app: a.app ?? null, params: a.params, requestedBy: a.requestedBy, conversation: a.conversation,
      environment: a.environment ?? null, expiresAt: a.expiresAt, decidedBy: a.decidedBy ?? null, decidedAt: a.decidedAt ?? null,
      enqueuedAt: a.enqueuedAt ?? null, finishedAt: a.finishedAt ?? null, deploymentId: a.deploymentId ?? null, result: a.result ?? null,
      reportedAt: a.reportedAt ?? null, id: r.id, status: a.status, createdAt: new Date(r.created_at),
    };
  }

  async getAction(id: string): Promise<ActionRow | undefined> {
    const [a] = await queriesOf(this.db).getAction.execute({ id });
    return a;
  }

  /**
   * pending → approved, only if still pending and not expired, and its outbox row, in one
   * transaction (db/outbox.ts): an approval is never lost between Postgres and Redis.
   * Returns the row when this call won.
   */
  async approveAction(id: string, tenantId: string, by: string, now: Date): Promise<ActionRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.update(actions)
        .set({ status: 'approved', decidedBy: by, decidedAt: now })
        .where(and(eq(actions.id, id), eq(actions.tenantId, tenantId), eq(actions.status, 'pending'), gt(actions.expiresAt, now)))
        .returning();
      if (row) await addToOutbox(tx, tenantId, id);
      return row;
    });
  }

  /**
   * A read-only action is created approved: the row and its outbox row in one statement (one
   * implicit transaction: both or neither).
   */
  async createApprovedAction(a: typeof actions.$inferInsert): Promise<ActionRow> {
    return this.insertAction({ ...a, status: 'approved' }, true);
  }

  /** The reporter's once-only guard: true for the first caller; `releaseReport` undoes it when posting failed. */
  async claimReport(id: string, now: Date): Promise<boolean> {
    return (await this.claimReportRow(id, undefined, now)) !== undefined;
  }

  /** claimReport that also returns the action (its conversation): the reporter's one query for a result. */
  async claimReportRow(id: string, tenantId: string | undefined, now: Date): Promise<ActionRow | undefined> {
    const q = queriesOf(this.db);
    const [r] = tenantId === undefined
      ? await q.claimReport.execute({ id, now: now.toISOString() })
      : await q.claimReportOf.execute({ id, tenantId, now: now.toISOString() });
    return r;
  }

  async releaseReport(id: string): Promise<void> {
    await this.db.update(actions).set({ reportedAt: null }).where(eq(actions.id, id));
  }

  async transition(id: string, from: ActionStatus[], to: ActionStatus, patch: Partial<ActionRow> = {}): Promise<ActionRow | undefined> {
    const [row] = await this.db.update(actions).set({ ...patch, status: to })
      .where(and(eq(actions.id, id), inArray(actions.status, from))).returning();
    return row;
  }

  /** The fast path published the job itself: stamp the action and its outbox row (unless a relay holds the row; it stamps it). */
  async markEnqueued(id: string, now: Date): Promise<void> {
    await new OutboxRepo(this.db).markPublished(id, now);
  }

  /** Pending actions past their expiry become expired; returns them so the bot can say so. */
  async expireDue(now: Date): Promise<ActionRow[]> {
    return this.db.update(actions).set({ status: 'expired', finishedAt: now })
      .where(and(eq(actions.status, 'pending'), lt(actions.expiresAt, now))).returning();
  }

  /** Approved actions that never reached the queue (outbox reconciliation). */
  async approvedNotEnqueued(olderThan: Date): Promise<ActionRow[]> {
    return this.db.select().from(actions)
      .where(and(eq(actions.status, 'approved'), isNull(actions.enqueuedAt), lt(actions.decidedAt, olderThan)));
  }

  async recentActions(tenantId: string, app: string, limit: number): Promise<ActionRow[]> {
    return this.db.select().from(actions).where(and(eq(actions.tenantId, tenantId), eq(actions.app, app)))
      .orderBy(desc(actions.createdAt)).limit(limit);
  }

  // ── deployments ──
  async createDeployment(d: typeof deployments.$inferInsert): Promise<DeploymentRow> {
    const [row] = await this.db.insert(deployments).values(d).onConflictDoNothing().returning();
    return row ?? (await this.getDeployment(d.id))!;
  }

  async getDeployment(id: string): Promise<DeploymentRow | undefined> {
    const [d] = await this.db.select().from(deployments).where(eq(deployments.id, id));
    return d;
  }

  async finishDeployment(id: string, status: 'succeeded' | 'failed', patch: { hostPorts?: number[]; error?: string }, now: Date): Promise<void> {
    await this.db.update(deployments).set({ status, finishedAt: now, hostPorts: patch.hostPorts ?? [], error: patch.error ?? null })
      .where(eq(deployments.id, id));
  }

  async deploymentsOf(tenantId: string, app: string, limit = 20): Promise<DeploymentRow[]> {
    return this.db.select().from(deployments).where(and(eq(deployments.tenantId, tenantId), eq(deployments.app, app)))
      .orderBy(desc(deployments.createdAt)).limit(limit);
  }

  // ── sealed chat secrets ──
  async addSealedSecret(tenantId: string, actionId: string, placeholder: string, ciphertext: Buffer): Promise<void> {
    await this.db.insert(sealedSecrets).values({ tenantId, actionId, placeholder, ciphertext }).onConflictDoNothing();
  }

  async sealedSecret(actionId: string, placeholder: string) {
    const [s] = await this.db.select().from(sealedSecrets)
      .where(and(eq(sealedSecrets.actionId, actionId), eq(sealedSecrets.placeholder, placeholder)));
    return s;
  }

  async purgeSealedSecrets(actionId: string): Promise<void> {
    await this.db.delete(sealedSecrets).where(eq(sealedSecrets.actionId, actionId));
  }

  // ── platform event dedupe ──
  /** True the first time an event id is seen (across restarts and instances). */
  async claimEvent(platform: string, eventId: string): Promise<boolean> {
    const r = await this.db.insert(processedEvents).values({ platform, eventId }).onConflictDoNothing().returning();
    return r.length > 0;
  }
}

/** A tenant's settings column ({} for an unknown tenant). */
export async function readTenantSettings(db: Db, tenantId: string): Promise<Record<string, unknown>> {
  const [t] = await db.select({ s: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId));
  return (t?.s ?? {}) as Record<string, unknown>;
}
