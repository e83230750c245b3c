/**
 * The retention job. A BullMQ Job Scheduler (`upsertJobScheduler`, idempotent across
 * restarts and instances: one schedule however many workers start) enqueues `retention`
 * on the `hoist-maintenance` queue every `everyMs`; one worker runs db/privacy/retention.ts
 * with the injected clock, then removes finished BullMQ jobs older than the job window from
 * every Hoist queue. Job data is empty: nothing personal ever sits in Redis for this.
 */
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from '../../db/client.ts';
import type { Sealer } from '../../db/crypto.ts';
import { runRetention } from '../../db/privacy/retention.ts';
import { DAY_MS, JOB_RETENTION_DAYS } from '../../db/privacy/settings.ts';
import type { Clock, Logger } from '../../bot/core/types.ts';
import { QUEUES } from '../contract/index.ts';

export const MAINTENANCE_QUEUE = 'hoist-maintenance';
export const RETENTION_SCHEDULER_ID = 'hoist-retention';
/** Often enough that nothing outlives its window by more than an hour. */
export const RETENTION_EVERY_MS = 60 * 60_000;

export interface RetentionJobDeps {
  db: Db;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  /** Connections: the queue's (producer) and the worker's (blocking, maxRetriesPerRequest null). */
  connection: () => Redis;
  prefix?: string;
  everyMs?: number;
  jobRetentionDays?: number;
}

/** Removes completed and failed jobs finished more than `days` ago from every Hoist queue. */
export async function cleanFinishedJobs(connection: Redis, prefix: string | undefined, days: number): Promise<number> {
  let removed = 0;
  for (const name of [...Object.values(QUEUES), MAINTENANCE_QUEUE]) {
    const q = new Queue(name, { connection, prefix });
    for (const state of ['completed', 'failed'] as const) {
      for (;;) {
        const ids = await q.clean(days * DAY_MS, 1000, state);
        removed += ids.length;
        if (ids.length < 1000) break;
      }
    }
    await q.close();
  }
  return removed;
}

export async function runRetentionOnce(d: Pick<RetentionJobDeps, 'db' | 'sealer' | 'clock' | 'logger'> & { connection?: Redis; prefix?: string; jobRetentionDays?: number }) {
  const report = await runRetention(d.db, d.sealer, d.clock.now());
  const jobs = d.connection ? await cleanFinishedJobs(d.connection, d.prefix, d.jobRetentionDays ?? JOB_RETENTION_DAYS) : 0;
  const totals: Record<string, number> = { jobs };
  for (const counts of Object.values(report)) for (const [k, v] of Object.entries(counts)) totals[k] = (totals[k] ?? 0) + v;
  d.logger.info({ op: 'retention.done', tenants: Object.keys(report).length, ...totals }, 'retention.done');
  return { report, jobs };
}

export async function startRetentionScheduler(d: RetentionJobDeps) {
  const queueConn = d.connection();
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: queueConn, prefix: d.prefix });
  await queue.upsertJobScheduler(RETENTION_SCHEDULER_ID, { every: d.everyMs ?? RETENTION_EVERY_MS }, {
    name: 'retention', data: {},
    opts: { removeOnComplete: { age: 7 * 24 * 3600, count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } },
  });
  const workerConn = d.connection();
  const worker = new Worker(MAINTENANCE_QUEUE, async () => {
    const r = await runRetentionOnce({ ...d, connection: queueConn });
    return { tenants: Object.keys(r.report).length, jobs: r.jobs };
  }, { connection: workerConn, prefix: d.prefix, concurrency: 1 });
  worker.on('failed', (job, err) => d.logger.error({ op: 'retention.failed', job: job?.id, err: err.message }, 'retention.failed'));
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
      workerConn.disconnect();
      queueConn.disconnect();
    },
  };
}
