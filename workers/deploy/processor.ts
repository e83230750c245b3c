/**
 * The action job processor. Input: {actionId, tenantId} (ids only). Loads the action from
 * Postgres, takes the app's rollout lease (lease.ts; busy → the job is re-queued with a
 * delay, or fails once it waited longer than the bound), moves it approved → running, runs
 * it (actions.ts), and publishes progress lines and exactly one result (result job id =
 * `<action>.result`). Re-runs after a crash converge: the deployment id is derived from the
 * action id, the Deployer discovers containers by label, and the lease holder is the action.
 * Non-retryable errors fail the action at once; retryable ones (engine unreachable) are
 * retried by BullMQ and fail on the last attempt.
 */
import { DelayedError, UnrecoverableError } from 'bullmq';
import { WORKER_READS, type ActionJob, type ResultEvent } from '../contract/index.ts';
import type { Sealer } from '../../db/crypto.ts';
import type { DeployRepo } from '../../db/deploy-repo.ts';
import type { ActionRow, Store } from '../../db/repo.ts';
import { HoistError, isHoistError, userMessageFor } from '../contract/errors.ts';
import type { AuditLog } from '../../bot/core/ports.ts';
import type { Clock, Logger } from '../../bot/core/types.ts';
import { runAction, deploymentIdFor, type Targets } from './actions.ts';
import { noCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { Deployer } from './deployer.ts';
import { DEFAULT_LEASE, withLease, type LeaseOptions } from './lease.ts';
import type { SourceBuilder } from './source-build.ts';
import type { Endpoints } from '../proxy/router.ts';

export { deploymentIdFor };

export interface ResultSink {
  publish(e: ResultEvent): Promise<void>;
}

export interface ProcessorDeps {
  store: Store;
  deploys: DeployRepo;
  sealer: Sealer;
  deployer: Deployer;
  /** Other deploy targets (swarm, named hosts) by name; an app picks one with its `target` setting. */
  targets?: Targets;
  builder?: SourceBuilder;
  audit: AuditLog;
  results: ResultSink;
  clock: Clock;
  logger: Logger;
  /** Scrubs container logs, build output and error text before they leave the worker. */
  redact: (text: string) => string;
  lease?: Partial<LeaseOptions>;
  /** Test-only pause points (checkpoint.ts); a no-op in production. */
  checkpoint?: Checkpoint;
  /** Deployments whose images (built ones) and config are kept for rollback. */
  keepDeployments?: number;
  /** The installation's registry allowlist (HOIST_ALLOWED_REGISTRIES); the tenant's own adds to it. */
  allowedRegistries?: readonly string[];
  /** Stable endpoints (workers/proxy); absent: an app is reached on its replicas' own ports. */
  endpoints?: Endpoints;
}

/** Actions that change an app: one at a time per app. */
const LEASED = new Set(['deploy', 'rollback', 'scale', 'set_env', 'unset_env', 'restart', 'stop', 'start']);
const DEPLOYING = new Set(['deploy', 'rollback', 'scale', 'set_env', 'unset_env']);

export interface ProcessableJob {
  data: ActionJob;
  attemptsMade: number;
  opts: { attempts?: number };
  moveToDelayed?(timestamp: number, token?: string): Promise<void>;
}

export function createActionProcessor(d: ProcessorDeps) {
  const lease = { ...DEFAULT_LEASE, ...d.lease };
  const checkpoint = d.checkpoint ?? noCheckpoint;
  return async function process(job: ProcessableJob, token?: string): Promise<void> {
    const { actionId, tenantId } = job.data;
    const log = d.logger.child({ action: actionId, tenant: tenantId });
    const action = await d.store.getAction(actionId);
    if (!action || action.tenantId !== tenantId) throw new UnrecoverableError(`action ${actionId} not found for tenant`);
    if (action.status === 'cancelled' || action.status === 'expired') return;
    if (action.status === 'succeeded' || action.status === 'failed') {
      // Done already; a crash may have come between recording and publishing, and the result job id dedupes.
      await d.results.publish({ actionId, tenantId, kind: 'result', status: action.status, text: action.result ?? '', seq: 0 });
      return;
    }
    // Progress job ids are `<action>.p.<seq>`: a per-run base keeps a re-run's lines from being deduped away.
    let seq = Date.now() * 100;
    // Lines are published in order but off the rollout's path (each is a Redis round trip);
    // `lines` settles before the result goes out, so the result still comes last.
    let lines = Promise.resolve();
    const progress = (text: string) => {
      const e: ResultEvent = { actionId, tenantId, kind: 'progress', status: 'running', text: d.redact(text), seq: ++seq };
      lines = lines.then(() => d.results.publish(e)).catch((err: unknown) => log.warn({ err: String(err) }, 'progress.publish_failed'));
      return Promise.resolve();
    };
    const read = WORKER_READS.has(action.kind as never);
    const body = async () => {
      // A change records that it started (approved → running) before it touches anything. A read
      // changes nothing: it stays approved until finish() moves it straight to its outcome (one
      // UPDATE fewer; a crashed read is simply run again), and its "started" event is appended
      // beside the work, committed before the result is recorded (the chain keeps the order).
      const begin = async () => {
        const started = read || await d.store.transition(actionId, ['approved'], 'running');
        if (started) await d.audit.append({ tenantId, type: 'action.started', actionId, data: { attempt: job.attemptsMade + 1 } });
      };
      const begun = begin();
      if (read) begun.catch(() => undefined); // awaited below
      else await begun;
      try {
        const text = await runAction({ ...d, checkpoint }, action, progress);
        await begun;
        await checkpoint('after-start');
        await lines;
        await finish(d, action, 'succeeded', text);
        log.info({ kind: action.kind }, 'action.succeeded');
      } catch (e) {
        await lines;
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (isHoistError(e) && e.retryable && !last) {
          log.warn({ err: e.code, attempt: job.attemptsMade + 1 }, 'action.retry');
          throw e;
        }
        // A deployment the endpoint already switched to is serving: its row (and host ports) stay.
        const serving = action.app && (await d.store.getApp(tenantId, action.app))?.currentDeploymentId === deploymentIdFor(actionId);
        if (DEPLOYING.has(action.kind) && !serving) {
          await d.store.finishDeployment(deploymentIdFor(actionId), 'failed', { error: d.redact(userMessageFor(e)) }, d.clock.now());
        }
        await finish(d, action, 'failed', d.redact(userMessageFor(e)));
        log.warn({ err: isHoistError(e) ? e.code : String(e) }, 'action.failed');
        throw new UnrecoverableError(isHoistError(e) ? e.code : 'internal');
      }
    };
    if (!LEASED.has(action.kind) || !action.app) return body();

    const out = await withLease(d.deploys, { tenantId, app: action.app, holder: actionId }, lease, log, body);
    if (out.ran) return;
    const holder = out.holder.startsWith('reconciler:') ? 'the reconciler, repairing it' : out.holder;
    const waited = d.clock.now().getTime() - (action.decidedAt ?? action.createdAt).getTime();
    if (waited >= lease.maxWaitMs) {
      const mins = Math.max(1, Math.round(lease.maxWaitMs / 60_000));
      const msg = `Not started: another change to ${action.app} (${holder}) was still running after ${mins} minute${mins === 1 ? '' : 's'} of waiting; send the request again when it has finished.`;
      await finish(d, action, 'failed', msg);
      throw new UnrecoverableError('rollout_busy');
    }
    // seq 0 is never used by a run, so the "waiting" line is posted once however often we re-queue.
    await d.results.publish({ actionId, tenantId, kind: 'progress', status: 'running', seq: 0,
      text: `Waiting: another change to ${action.app} (${holder}) is in progress; this one starts when it ends.` });
    if (!job.moveToDelayed) throw new HoistError('internal', 'the rollout lease is busy and this job cannot be delayed');
    await job.moveToDelayed(Date.now() + lease.retryMs, token);
    throw new DelayedError();
  };
}

async function finish(d: ProcessorDeps, action: ActionRow, status: 'succeeded' | 'failed', text: string) {
  const done = await d.store.transition(action.id, ['running', 'approved'], status, { finishedAt: d.clock.now(), result: text.slice(0, 2000) });
  await Promise.all([
    // Reads (status, logs) are created approved with no sealed secrets: nothing to purge.
    WORKER_READS.has(action.kind as never) ? undefined : d.store.purgeSealedSecrets(action.id),
    done ? d.audit.append({ tenantId: action.tenantId, type: `action.${status}`, actionId: action.id, data: { kind: action.kind } }) : undefined,
  ]);
  // Published even when another attempt already finished the row: the result job id dedupes it.
  await d.results.publish({ actionId: action.id, tenantId: action.tenantId, kind: 'result', status, text, seq: 0 });
}
