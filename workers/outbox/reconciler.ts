/**
 * Outbox reconciler: Redis only carries messages, so whatever it lost (a restart without
 * persistence, a failover that dropped acknowledged writes, a FLUSHALL) is re-derived from
 * PostgreSQL. Each pass:
 * - an approved or running action whose job Redis no longer knows is published again —
 *   except while its rollout lease is live (its run is still going on some worker; when that
 *   worker dies the lease runs out and the next pass re-publishes). Running actions must be
 *   seen missing on two passes in a row, so a run finishing between the two reads is not
 *   mistaken for a lost one;
 * - a job that failed for good while its action is still approved or running (its attempts
 *   ran out while PostgreSQL was down, before the processor could record anything) is
 *   retried: the action has not finished, so it must still run;
 * - a finished action whose result never reached the thread (reported_at unset) has its
 *   result event published again, or its failed result job retried (the reporter's
 *   reported_at claim keeps it to one post).
 * Idempotent by construction: job id = action id, the processor converges, the reporter
 * posts once.
 */
import { and, gt, inArray, isNotNull, isNull, lt } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import type { OutboxRepo } from '../../db/outbox.ts';
import { actions } from '../../db/schema/index.ts';
import type { Logger } from '../../bot/core/types.ts';
import type { ResultEvent } from '../contract/index.ts';

/** A BullMQ queue as the reconciler sees it: job state by id ('unknown' when Redis lost it), retry of a failed job. */
export interface QueueLookup {
  state(jobId: string): Promise<string>;
  retry(jobId: string): Promise<void>;
}

/** The action lanes: the kind picks the queue (reads apart from changes). */
export interface JobLookup {
  state(jobId: string, kind: string): Promise<string>;
  retry(jobId: string, kind: string): Promise<void>;
  publish(actionId: string, tenantId: string, kind: string): Promise<void>;
}

export interface ReconcilerOptions {
  intervalMs?: number;
  /** Actions decided more recently than this are left to the relay and the fast path. */
  graceMs?: number;
  /** Finished actions are checked for a missing report after this long, up to a day back. */
  reportGraceMs?: number;
}

export interface OutboxReconciler {
  runOnce(): Promise<{ republished: number; results: number }>;
  stop(): Promise<void>;
}

export function startOutboxReconciler(
  d: { db: Db; repo: OutboxRepo; jobs: JobLookup; results: { publish(e: ResultEvent): Promise<void> }; resultJobs: QueueLookup; logger: Logger },
  o: ReconcilerOptions = {},
): OutboxReconciler {
  const log = d.logger.child({ op: 'outbox.reconcile' });
  const grace = o.graceMs ?? 5_000;
  const reportGrace = o.reportGraceMs ?? 15_000;
  let suspects = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const runOnce = async () => {
    let republished = 0;
    const next = new Set<string>();
    const now = Date.now();
    for (const a of await d.repo.inFlight(new Date(now - grace))) {
      const state = await d.jobs.state(a.id, a.kind);
      if (state === 'failed' && !a.leaseLive) {
        await d.jobs.retry(a.id, a.kind);
        republished++;
        log.warn({ action: a.id, status: a.status }, 'outbox.retried_failed_job');
        continue;
      }
      if (state !== 'unknown') continue;
      if (a.status === 'running') {
        if (a.leaseLive) continue;
        if (!suspects.has(a.id)) { next.add(a.id); continue; }
      }
      await d.jobs.publish(a.id, a.tenantId, a.kind);
      republished++;
      log.warn({ action: a.id, status: a.status }, 'outbox.republished');
    }
    suspects = next;
    const unreported = await d.db.select({ id: actions.id, tenantId: actions.tenantId, status: actions.status, result: actions.result }).from(actions)
      .where(and(inArray(actions.status, ['succeeded', 'failed']), isNull(actions.reportedAt), isNotNull(actions.decidedAt),
        lt(actions.finishedAt, new Date(now - reportGrace)), gt(actions.finishedAt, new Date(now - 24 * 3600_000))))
      .limit(200);
    for (const a of unreported) {
      const rid = `${a.id}.result`;
      if ((await d.resultJobs.state(rid)) === 'failed') {
        await d.resultJobs.retry(rid);
        continue;
      }
      await d.results.publish({ actionId: a.id, tenantId: a.tenantId, kind: 'result', status: a.status as 'succeeded' | 'failed', text: a.result ?? '', seq: 0 });
    }
    if (unreported.length) log.info({ results: unreported.length }, 'outbox.results_republished');
    return { republished, results: unreported.length };
  };

  const tick = () => {
    if (stopped) return;
    running = runOnce().catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'outbox.reconcile_failed'))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(tick, o.intervalMs ?? 10_000);
        timer.unref();
      });
  };
  timer = setTimeout(tick, o.intervalMs ?? 10_000);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
