/**
 * BullMQ plumbing for both processes. Producers use a connection with
 * enableOfflineQueue=false so a down Redis fails the call at once instead of blocking a
 * chat ack; the approved row in Postgres is the outbox the reconciler re-enqueues from.
 */
import { Queue, Worker, type Job, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ACTION_JOB_OPTIONS, ActionJobSchema, queueForKind, QUEUES, RESULT_JOB_OPTIONS, ResultEventSchema,
  type ActionJob, type ResultEvent,
} from '../../workers/contract/index.ts';
import type { ActionQueue } from '../core/ports.ts';

export interface QueueOptions {
  redisUrl: string;
  /** Key prefix, e.g. per test; BullMQ's own `prefix`, never ioredis keyPrefix. */
  prefix?: string;
}

export function redisConnection(url: string, producer: boolean): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: producer ? 1 : null,
    enableOfflineQueue: !producer,
    lazyConnect: false,
  });
}

/** Both action lanes (changes and reads) over one producer connection. */
export function createActionQueue(o: QueueOptions): ActionQueue & { queue: Queue; reads: Queue; of(kind: string): Queue } {
  const connection = redisConnection(o.redisUrl, true);
  const queue = new Queue<ActionJob>(QUEUES.actions, { connection, prefix: o.prefix });
  const reads = new Queue<ActionJob>(QUEUES.reads, { connection, prefix: o.prefix });
  const of = (kind: string) => (queueForKind(kind) === QUEUES.reads ? reads : queue);
  return {
    queue,
    reads,
    of,
    async enqueue(actionId, tenantId, kind) {
      const data = ActionJobSchema.parse({ actionId, tenantId });
      await of(kind).add('action', data, { ...ACTION_JOB_OPTIONS, jobId: actionId });
    },
    async close() {
      await Promise.all([queue.close(), reads.close()]);
      connection.disconnect();
    },
  };
}

/** Reads each queue's job counts into the queue-depth gauge (a down Redis just leaves the last figures). */
export function recordQueueDepth(queues: readonly Queue[], gauge: { set(labels: { queue: string; state: string }, n: number): void }): void {
  for (const q of queues) {
    q.getJobCounts('waiting', 'active', 'delayed', 'failed').then((c) => {
      for (const [state, n] of Object.entries(c)) gauge.set({ queue: q.name, state }, n);
    }, () => undefined);
  }
}

export function createResultPublisher(o: QueueOptions) {
  const connection = redisConnection(o.redisUrl, true);
  const queue = new Queue<ResultEvent>(QUEUES.results, { connection, prefix: o.prefix });
  return {
    async publish(e: ResultEvent) {
      const data = ResultEventSchema.parse(e);
      // No ':' in custom job ids: BullMQ 6 rejects them (only legacy 3-part repeat ids pass).
      const jobId = e.kind === 'result' ? `${e.actionId}.result` : `${e.actionId}.p.${e.seq}`;
      await queue.add(e.kind, data, { ...RESULT_JOB_OPTIONS, jobId });
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

export function createWorker<T>(
  name: string, o: QueueOptions, handler: (job: Job<T>, token?: string) => Promise<void>, concurrency: number,
  /** Lock and stalled-check timing (tests shorten them to exercise crash recovery). */
  timing: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> = {},
): Worker<T> {
  const connection = redisConnection(o.redisUrl, false);
  const w = new Worker<T>(name, handler, { connection, prefix: o.prefix, concurrency, autorun: true, ...timing });
  w.on('closed', () => connection.disconnect());
  return w;
}
