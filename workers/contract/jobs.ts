/**
 * The job catalog between bot and workers. Payloads carry ids only, never values or
 * raw text: the worker loads the action from Postgres. Job id = action id, so a
 * duplicate enqueue is a no-op in BullMQ.
 */
import { z } from 'zod';
import { WORKER_READS, type IntentAction } from './intent.ts';

/**
 * Two lanes for actions: changes (`hoist-actions`, HOIST_WORKER_CONCURRENCY at a time, one
 * rollout per app) and reads (`hoist-reads`: status, logs — HOIST_READ_CONCURRENCY), so a
 * `status` is answered while every change slot is busy with long builds or health waits.
 */
export const QUEUES = { actions: 'hoist-actions', reads: 'hoist-reads', results: 'hoist-results' } as const;
export type ActionQueueName = typeof QUEUES.actions | typeof QUEUES.reads;

/** The lane an action's job goes to, by the action's kind (its row's `kind`). */
export const queueForKind = (kind: string): ActionQueueName => (WORKER_READS.has(kind as IntentAction) ? QUEUES.reads : QUEUES.actions);

export const ActionJobSchema = z.object({ actionId: z.string().min(1), tenantId: z.string().min(1) }).strict();
export type ActionJob = z.infer<typeof ActionJobSchema>;

/** Worker → bot: progress lines and one final result per action. Text is already redacted. */
export const ResultEventSchema = z
  .object({
    actionId: z.string(),
    tenantId: z.string(),
    kind: z.enum(['progress', 'result']),
    status: z.enum(['running', 'succeeded', 'failed']),
    text: z.string().max(40_000),
    seq: z.number().int().min(0),
  })
  .strict();
export type ResultEvent = z.infer<typeof ResultEventSchema>;

export const ACTION_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export const RESULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
