/**
 * One rollout per app at a time, across worker processes and machines: a lease row in
 * Postgres (db/schema/deploy.ts) held by the action id and renewed while the action runs.
 * A worker killed with the lease simply stops renewing it; its own re-run (BullMQ stalled
 * recovery, same action id) takes it back at once, any other action after it expires.
 * Contract: `withLease` either runs `fn` holding the lease, or returns `{ busy }` without
 * running it; it never waits itself (the processor re-queues the job with a delay).
 */
import type { DeployRepo } from '../../db/deploy-repo.ts';
import type { Logger } from '../../bot/core/types.ts';

export interface LeaseOptions {
  /** How long a lease lives without renewal: bounds how long a crashed holder blocks the app. */
  ttlMs: number;
  renewMs: number;
  /** Delay before a waiting action asks again. */
  retryMs: number;
  /** Longest an approved action waits in line before it fails with a clear sentence. */
  maxWaitMs: number;
}

export const DEFAULT_LEASE: LeaseOptions = { ttlMs: 60_000, renewMs: 15_000, retryMs: 2_000, maxWaitMs: 10 * 60_000 };

export type LeaseOutcome<T> = { ran: true; value: T } | { ran: false; holder: string; since: Date };

export async function withLease<T>(
  repo: DeployRepo,
  key: { tenantId: string; app: string; holder: string },
  opts: LeaseOptions,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<LeaseOutcome<T>> {
  const got = await repo.acquireLease(key.tenantId, key.app, key.holder, opts.ttlMs);
  if (!got.acquired) return { ran: false, holder: got.holder, since: got.since };
  const timer = setInterval(() => {
    repo.renewLease(key.tenantId, key.app, key.holder, opts.ttlMs).then(
      (ok) => { if (!ok) logger.error({ app: key.app, action: key.holder }, 'lease.lost'); },
      (err: unknown) => logger.warn({ app: key.app, err: String(err) }, 'lease.renew_failed'),
    );
  }, opts.renewMs);
  timer.unref();
  try {
    return { ran: true, value: await fn() };
  } finally {
    clearInterval(timer);
    await repo.releaseLease(key.tenantId, key.app, key.holder);
  }
}
