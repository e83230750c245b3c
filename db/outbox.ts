/**
 * The transactional outbox (ARCHITECTURE.md "Outbox"). Contract:
 * - `addToOutbox(tx, …)` runs inside the transaction that makes an action approved, so an
 *   approved action without an outbox row cannot exist (and the reverse neither).
 * - `OutboxRepo.relayBatch` claims unpublished rows with `FOR UPDATE SKIP LOCKED`, hands them
 *   to `publish` while the rows stay locked, and stamps the ones that were published in the
 *   same transaction. A crash between publish and stamp rolls the stamp back: the row is
 *   published again, and the job id (= action id) plus the idempotent processor absorb it.
 * - `inFlight` lists approved/running actions for the reconciler (published or not).
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import type { Tx } from './audit.ts';
import { actions, deployLeases, outbox } from './schema/index.ts';

export interface OutboxRow {
  id: number;
  tenantId: string;
  actionId: string;
  /** The action's kind: it picks the queue (workers/contract queueForKind). */
  kind: string;
  attempts: number;
}

export async function addToOutbox(tx: Tx | Db, tenantId: string, actionId: string): Promise<void> {
  await tx.insert(outbox).values({ tenantId, actionId }).onConflictDoNothing();
}

/** Backoff for a row whose publish failed: 1 s, 2 s, 4 s … capped at 30 s. */
const backoffMs = (attempts: number) => Math.min(30_000, 1000 * 2 ** Math.min(attempts, 5));

export interface InFlight {
  id: string;
  tenantId: string;
  kind: string;
  app: string | null;
  status: string;
  decidedAt: Date | null;
  /** True when the app's rollout lease is held by this action and still live: its run is alive somewhere. */
  leaseLive: boolean;
}

export class OutboxRepo {
  constructor(readonly db: Db) {}

  /**
   * Claims up to `limit` due rows (other relays skip them), calls `publish` for each in
   * order, and marks the published ones. `publish` returning an error string (or throwing)
   * leaves that row unpublished with a backoff. Returns how many rows were published.
   */
  async relayBatch(limit: number, publish: (row: OutboxRow) => Promise<void>, hooks: { afterPublish?: () => Promise<void> } = {}): Promise<{ published: number; failed: number }> {
    return this.db.transaction(async (tx) => {
      // The kind by a subquery, not a join: FOR UPDATE then locks only the outbox rows.
      const rows = await tx.select({ id: outbox.id, tenantId: outbox.tenantId, actionId: outbox.actionId, attempts: outbox.attempts,
        kind: sql<string>`coalesce((select a.kind from ${actions} a where a.id = ${outbox.actionId}), 'deploy')` })
        .from(outbox)
        .where(and(isNull(outbox.publishedAt), sql`${outbox.availableAt} <= now()`))
        .orderBy(outbox.id)
        .limit(limit)
        .for('update', { skipLocked: true });
      const done: OutboxRow[] = [];
      let failed = 0;
      for (const row of rows) {
        try {
          await publish(row);
          done.push(row);
        } catch (e) {
          failed++;
          await tx.update(outbox).set({
            attempts: row.attempts + 1,
            lastError: (e instanceof Error ? e.message : String(e)).slice(0, 200),
            availableAt: sql`now() + make_interval(secs => ${backoffMs(row.attempts) / 1000})`,
          }).where(eq(outbox.id, row.id));
        }
      }
      await hooks.afterPublish?.();
      if (done.length) {
        await tx.update(outbox).set({ publishedAt: sql`now()`, attempts: sql`${outbox.attempts} + 1`, lastError: null })
          .where(inArray(outbox.id, done.map((r) => r.id)));
        await tx.update(actions).set({ enqueuedAt: sql`now()` })
          .where(and(inArray(actions.id, done.map((r) => r.actionId)), isNull(actions.enqueuedAt)));
      }
      return { published: done.length, failed };
    });
  }

  /** The fast path published this action itself: stamp its row unless a relay holds it (it will stamp it). */
  async markPublished(actionId: string, at?: Date): Promise<void> {
    // One statement: the outbox stamp (skipped while a relay holds the row) and the action's.
    const enqueuedAt = at ? sql`${at.toISOString()}::timestamptz` : sql`now()`;
    await this.db.execute(sql`with o as (update outbox set published_at = now() where id in (
        select id from outbox where action_id = ${actionId} and published_at is null for update skip locked))
      update actions set enqueued_at = ${enqueuedAt} where id = ${actionId} and enqueued_at is null`);
  }

  async pending(): Promise<number> {
    const [r] = await this.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(isNull(outbox.publishedAt));
    return Number(r?.n ?? 0);
  }

  /** Approved or running actions decided before `olderThan`, with whether their rollout lease is live. */
  async inFlight(olderThan: Date, limit = 500): Promise<InFlight[]> {
    const rows = await this.db.select({
      id: actions.id, tenantId: actions.tenantId, kind: actions.kind, app: actions.app, status: actions.status, decidedAt: actions.decidedAt,
      leaseLive: sql<boolean>`exists (select 1 from ${deployLeases} l where l.tenant_id = ${actions.tenantId} and l.app = ${actions.app}
        and l.holder = ${actions.id} and l.expires_at > now())`,
    }).from(actions)
      .where(and(inArray(actions.status, ['approved', 'running']), sql`coalesce(${actions.decidedAt}, ${actions.createdAt}) < ${olderThan.toISOString()}::timestamptz`))
      .orderBy(actions.decidedAt)
      .limit(limit);
    return rows.map((r) => ({ ...r, leaseLive: Boolean(r.leaseLive) }));
  }
}
