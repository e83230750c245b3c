/**
 * The action job processor. Input: {actionId, tenantId} (ids only). Loads the action from
 * Postgres, moves it approved → running, runs it on the Deployer, records the deployment,
 * and publishes progress lines and exactly one result (result job id = `<action>:result`).
 * Re-runs after a crash converge: deployment id is derived from the action id and the
 * Deployer discovers containers by label. Non-retryable errors fail the action at once;
 * retryable ones (engine unreachable) are retried by BullMQ and fail on the last attempt.
 */
import { UnrecoverableError } from 'bullmq';
import type { Intent } from '../contract/index.ts';
import type { ActionJob, ResultEvent } from '../contract/index.ts';
import type { Sealer } from '../../db/crypto.ts';
import type { ActionRow, Store } from '../../db/repo.ts';
import { HoistError, isHoistError, userMessageFor } from '../contract/errors.ts';
import type { AuditLog } from '../../bot/core/ports.ts';
import type { Clock, Logger } from '../../bot/core/types.ts';
import type { Deployer, ReplicaInfo } from './deployer.ts';

export interface ResultSink {
  publish(e: ResultEvent): Promise<void>;
}

export interface ProcessorDeps {
  store: Store;
  sealer: Sealer;
  deployer: Deployer;
  audit: AuditLog;
  results: ResultSink;
  clock: Clock;
  logger: Logger;
  /** Scrubs container logs and error text before they leave the worker. */
  redact: (text: string) => string;
}

interface Resolved { app: string; image?: string; port?: number; replicas?: number; environment: string; key?: string; valuePlaceholder?: string; deployment?: string }

export const deploymentIdFor = (actionId: string) => `dep-${actionId.replace(/^act-/, '')}`;

function replicaLine(r: ReplicaInfo & { app?: string }): string {
  const port = r.hostPort ? ` on :${r.hostPort}` : '';
  return `  ${r.app ? `${r.app} ` : ''}${r.name.replace(/^hoist-[^-]+-[a-z0-9]+-/, '')}  ${r.state}${r.health ? ` (${r.health})` : ''}${port}  ${r.image}  deployment ${r.deploymentId}`;
}

export function createActionProcessor(d: ProcessorDeps) {
  return async function process(job: { data: ActionJob; attemptsMade: number; opts: { attempts?: number } }): Promise<void> {
    const { actionId, tenantId } = job.data;
    const log = d.logger.child({ action: actionId, tenant: tenantId });
    const action = await d.store.getAction(actionId);
    if (!action || action.tenantId !== tenantId) throw new UnrecoverableError(`action ${actionId} not found for tenant`);
    if (['succeeded', 'failed', 'cancelled', 'expired'].includes(action.status)) return; // a duplicate delivery: already done
    let seq = 0;
    const progress = async (text: string) => {
      await d.results.publish({ actionId, tenantId, kind: 'progress', status: 'running', text: d.redact(text), seq: ++seq });
    };
    const started = await d.store.transition(actionId, ['approved'], 'running');
    if (started) await d.audit.append({ tenantId, type: 'action.started', actionId, data: { attempt: job.attemptsMade + 1 } });
    try {
      const text = await run(d, action, progress);
      await finish(d, action, 'succeeded', text);
      log.info({ kind: action.kind }, 'action.succeeded');
    } catch (e) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (isHoistError(e) && e.retryable && !last) {
        log.warn({ err: e.code, attempt: job.attemptsMade + 1 }, 'action.retry');
        throw e;
      }
      if (action.kind === 'deploy' || action.kind === 'rollback' || action.kind === 'scale' || action.kind.endsWith('_env')) {
        await d.store.finishDeployment(deploymentIdFor(actionId), 'failed', { error: d.redact(userMessageFor(e)) }, d.clock.now());
      }
      await finish(d, action, 'failed', d.redact(userMessageFor(e)));
      log.warn({ err: isHoistError(e) ? e.code : String(e) }, 'action.failed');
      throw new UnrecoverableError(isHoistError(e) ? e.code : 'internal');
    }
  };
}

async function finish(d: ProcessorDeps, action: ActionRow, status: 'succeeded' | 'failed', text: string) {
  const done = await d.store.transition(action.id, ['running', 'approved'], status, { finishedAt: d.clock.now(), result: text.slice(0, 2000) });
  await d.store.purgeSealedSecrets(action.id);
  if (done) await d.audit.append({ tenantId: action.tenantId, type: `action.${status}`, actionId: action.id, data: { kind: action.kind } });
  // Published even when another attempt already finished the row: the result job id dedupes it.
  await d.results.publish({ actionId: action.id, tenantId: action.tenantId, kind: 'result', status, text, seq: 0 });
}

async function run(d: ProcessorDeps, action: ActionRow, progress: (t: string) => Promise<void>): Promise<string> {
  const params = action.params as { intent: Intent; resolved?: Resolved };
  const t = action.tenantId;
  const app = action.app ?? undefined;
  switch (action.kind) {
    case 'status': {
      const reps = await d.deployer.status(t, app);
      const apps = app ? [app] : (await d.store.listApps(t)).map((a) => a.name);
      if (reps.length === 0) return app ? `${app}: no containers (stopped or never deployed).` : apps.length ? `No containers running for: ${apps.join(', ')}.` : 'No apps yet.';
      return [`Status${app ? ` of ${app}` : ''}:`, ...reps.map(replicaLine)].join('\n');
    }
    case 'logs': {
      const lines = params.intent.lines ?? 50;
      const text = d.redact(await d.deployer.logs(t, app!, lines));
      return text.trim() ? `Last ${lines} log lines of ${app}:\n${text.trimEnd()}` : `${app} has no log output yet.`;
    }
    case 'restart': {
      const reps = await d.deployer.restart(t, app!, progress);
      return `${app} restarted (${reps.length} replica${reps.length === 1 ? '' : 's'}).`;
    }
    case 'stop': {
      const reps = await d.deployer.stop(t, app!);
      await d.store.setAppDesired(t, app!, { desired: 'stopped' });
      return `${app} stopped (${reps.length} replica${reps.length === 1 ? '' : 's'}).`;
    }
    case 'start': {
      const reps = await d.deployer.start(t, app!, progress);
      await d.store.setAppDesired(t, app!, { desired: 'running' });
      const ports = reps.map((r) => r.hostPort).filter(Boolean);
      return `${app} started${ports.length ? ` and is running on ${ports.map((p) => `:${p}`).join(', ')}` : ''}.`;
    }
    case 'set_env': case 'unset_env':
      await changeEnv(d, action, params.resolved!);
      return deploy(d, action, params.resolved!, progress, `${action.kind === 'set_env' ? 'Set' : 'Unset'} ${params.resolved!.key} on ${app}`);
    case 'deploy': case 'rollback': case 'scale':
      return deploy(d, action, params.resolved!, progress);
    default:
      throw new HoistError('invalid_request', `Workers do not run "${action.kind}".`);
  }
}

async function changeEnv(d: ProcessorDeps, action: ActionRow, r: Resolved) {
  if (action.kind === 'unset_env') {
    await d.store.unsetEnvVar(action.tenantId, r.app, r.key!);
    return;
  }
  const sealed = await d.store.sealedSecret(action.id, r.valuePlaceholder!);
  if (!sealed) {
    // A retry after the value was already moved: the env var row is the source of truth now.
    const rows = await d.store.envVarRows(action.tenantId, r.app);
    if (rows.some((e) => e.key === r.key)) return;
    throw new HoistError('invalid_request', 'The sealed value for this action is gone (expired or already used); send the set command again.');
  }
  const value = await d.sealer.open(action.tenantId, `action:${action.id}:${r.valuePlaceholder}`, sealed.ciphertext);
  await d.store.setEnvVar(action.tenantId, r.app, r.key!, await d.sealer.seal(action.tenantId, `env:${r.app}:${r.key}`, value));
}

async function deploy(d: ProcessorDeps, action: ActionRow, r: Resolved, progress: (t: string) => Promise<void>, prefix?: string): Promise<string> {
  const t = action.tenantId;
  const app = await d.store.getApp(t, r.app);
  const image = r.image ?? app?.image;
  if (!image) throw new HoistError('app_not_found', `No app named ${r.app}.`);
  const port = r.port ?? app?.port ?? undefined;
  const replicas = r.replicas ?? app?.replicas ?? 1;
  const env: Record<string, string> = {};
  for (const row of await d.store.envVarRows(t, r.app)) env[row.key] = await d.sealer.open(t, `env:${r.app}:${row.key}`, row.ciphertext);
  const id = deploymentIdFor(action.id);
  await d.store.createDeployment({
    id, tenantId: t, app: r.app, actionId: action.id, kind: action.kind, image, port: port ?? null, replicas,
    envKeys: Object.keys(env), status: 'running',
  });
  await progress(`${prefix ? `${prefix}; d` : 'D'}eploying ${r.app}: ${image}${port ? ` port ${port}` : ''} ×${replicas} (deployment ${id})`);
  const res = await d.deployer.deploy({ tenantId: t, app: r.app, deploymentId: id, actionId: action.id, image, port, replicas, env }, progress);
  const now = d.clock.now();
  await d.store.finishDeployment(id, 'succeeded', { hostPorts: res.hostPorts }, now);
  await d.store.upsertApp({ tenantId: t, name: r.app, image, port: port ?? null, environment: r.environment, replicas, desired: 'running', currentDeploymentId: id });
  const where = res.hostPorts.length ? ` on ${res.hostPorts.map((p) => `:${p}`).join(', ')}` : '';
  if (replicas === 0) return `${prefix ? `${prefix}. ` : ''}${r.app} scaled to 0 replicas (deployment ${id}).`;
  return `${prefix ? `${prefix}. ` : ''}${r.app} is running${where} (${image}, ${replicas} replica${replicas === 1 ? '' : 's'}, deployment ${id}).`;
}
