/**
 * What each action kind does once the processor holds the app's lease. Deploy-like
 * actions (deploy, rollback, scale, set/unset env) record a deployment row whose id is
 * derived from the action id, build the image first when the app deploys from git, and
 * run a health-gated rollout on the app's target (the default Docker engine or a named
 * one such as `swarm`). Afterwards the app row, its settings and the kept images follow.
 */
import type { Intent } from '../contract/index.ts';
import { HoistError, allowlistFrom, isHoistError, imageRegistry, pullAllowed, registryAllowed, unknownTarget } from '../contract/index.ts';
import type { ActionRow } from '../../db/repo.ts';
import type { AppDeploySettings } from '../../db/deploy-repo.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { Deployer, DeployResult, ReplicaInfo } from './deployer.ts';
import type { ProcessorDeps } from './processor.ts';
import { BUILT_REPOSITORY, displaySource } from './source-build.ts';
import { coalesceFresh } from './coalesce.ts';

export const deploymentIdFor = (actionId: string) => `dep-${actionId.replace(/^act-/, '')}`;

/** Named deploy targets besides the default engine (e.g. `swarm`). */
export type Targets = Record<string, Deployer>;

export interface Resolved {
  app: string; image?: string; port?: number; replicas?: number; environment: string; key?: string;
  valuePlaceholder?: string; deployment?: string;
  source?: string; ref?: string; dockerfile?: string; healthPath?: string; target?: string;
}

type Deps = ProcessorDeps & { checkpoint: Checkpoint };
type Progress = (t: string) => Promise<void>;

const DEFAULT_KEEP = 5;
const DEPLOY_KINDS = new Set(['deploy', 'rollback', 'scale', 'set_env', 'unset_env']);

function replicaLine(r: ReplicaInfo & { app?: string }): string {
  const port = r.hostPort ? ` on :${r.hostPort}` : '';
  return `  ${r.app ? `${r.app} ` : ''}${r.name.replace(/^hoist-[^-]+-[a-z0-9]+-/, '')}  ${r.state}${r.health ? ` (${r.health})` : ''}${port}  ${r.image}  deployment ${r.deploymentId}`;
}

/** Per engine: concurrent `status` reads of one tenant (and app) share a fresh engine list (coalesce.ts). */
const statusReads = new WeakMap<Deployer, Deployer['status']>();
function statusOf(engine: Deployer): Deployer['status'] {
  let read = statusReads.get(engine);
  if (!read) statusReads.set(engine, (read = coalesceFresh((t: string, app?: string) => `${t}\0${app ?? ''}`, (t: string, app?: string) => engine.status(t, app))));
  return read;
}

/** The engine an app runs on: its `target` setting, else a target named after its environment, else the default. */
export function deployerFor(d: Pick<ProcessorDeps, 'deployer' | 'targets'>, target: string | undefined, environment?: string): Deployer {
  if (!target && environment && d.targets?.[environment]) return d.targets[environment];
  if (!target || target === 'default' || target === 'docker') return d.deployer;
  const t = d.targets?.[target];
  if (!t) throw unknownTarget(target, Object.keys(d.targets ?? {}));
  return t;
}

export async function runAction(d: Deps, action: ActionRow, progress: Progress): Promise<string> {
  const params = action.params as { intent: Intent; resolved?: Resolved };
  const t = action.tenantId;
  const app = action.app ?? undefined;
  // Deploy-like actions read the app row (settings included) together with the env in deploy().
  const settings = app && !DEPLOY_KINDS.has(action.kind) ? await d.deploys.appSettings(t, app) : {};
  const environment = action.environment ?? (params.resolved?.environment);
  const engine = () => deployerFor(d, settings.target, environment);
  switch (action.kind) {
    case 'status': {
      const reps = await statusOf(engine())(t, app);
      const apps = app ? [app] : (await d.store.listApps(t)).map((a) => a.name);
      if (reps.length === 0) return app ? `${app}: no containers (stopped or never deployed).` : apps.length ? `No containers running for: ${apps.join(', ')}.` : 'No apps yet.';
      return [`Status${app ? ` of ${app}` : ''}:`, ...reps.map(replicaLine)].join('\n');
    }
    case 'logs': {
      const lines = params.intent.lines ?? 50;
      const text = d.redact(await engine().logs(t, app!, lines));
      return text.trim() ? `Last ${lines} log lines of ${app}:\n${text.trimEnd()}` : `${app} has no log output yet.`;
    }
    case 'restart': {
      const reps = await engine().restart(t, app!, progress);
      await refreshRoute(d, t, app!, reps);
      return `${app} restarted (${reps.length} replica${reps.length === 1 ? '' : 's'}).`;
    }
    case 'stop': {
      // Desired state first: the reconciler must not restart what is being stopped, and the
      // endpoint stops routing (its connections drain) before the replicas go down.
      await d.store.setAppDesired(t, app!, { desired: 'stopped' });
      if (d.endpoints) await d.endpoints.route(t, app!);
      const reps = await engine().stop(t, app!);
      return `${app} stopped (${reps.length} replica${reps.length === 1 ? '' : 's'}).`;
    }
    case 'start': {
      const reps = await engine().start(t, app!, progress);
      await d.store.setAppDesired(t, app!, { desired: 'running' });
      const stable = await refreshRoute(d, t, app!, reps);
      const ports = stable ? [stable] : reps.map((r) => r.hostPort).filter(Boolean);
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

async function changeEnv(d: Deps, action: ActionRow, r: Resolved) {
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

/** Refuses an image from a registry the tenant has not allowed (checked again here: the card is not the only door). */
function registryPolicy(d: Deps, tenantSettings: Record<string, unknown>, image: string): { pull: boolean } {
  const list = allowlistFrom(tenantSettings, d.allowedRegistries);
  if (!registryAllowed(image, list)) {
    throw new HoistError('forbidden', `Images from ${imageRegistry(image)} are not allowed in this workspace; an admin can add that registry to the allowlist.`);
  }
  return { pull: pullAllowed(image, list) };
}

async function deploy(d: Deps, action: ActionRow, r: Resolved, progress: Progress, prefix?: string): Promise<string> {
  const t = action.tenantId;
  // Independent reads go together: each is a round trip on the approve-to-healthy path.
  const [app, envRows, tenantSettings] = await Promise.all([
    d.store.getApp(t, r.app), d.store.envVarRows(t, r.app), d.deploys.tenantSettings(t),
  ]);
  // Read under this app's lease: nothing else changes the app while this runs.
  const settings = (app?.settings ?? {}) as AppDeploySettings;
  const id = deploymentIdFor(action.id);
  const target = r.target ?? settings.target;
  const healthPath = r.healthPath ?? settings.healthPath;
  const fromSource = r.source !== undefined && !r.image;
  if (fromSource && !d.builder) throw new HoistError('invalid_request', 'These workers cannot build from git sources.');
  let image = fromSource ? `${BUILT_REPOSITORY}/${d.builder!.repositoryFor(t, r.app)}:${id}` : (r.image ?? app?.image);
  if (!image) throw new HoistError('app_not_found', `No app named ${r.app}.`);
  const policy = fromSource ? { pull: false } : registryPolicy(d, tenantSettings, image);
  const port = r.port ?? app?.port ?? undefined;
  const replicas = r.replicas ?? app?.replicas ?? 1;
  const env: Record<string, string> = {};
  await Promise.all(envRows.map(async (row) => { env[row.key] = await d.sealer.open(t, `env:${r.app}:${row.key}`, row.ciphertext); }));
  await d.store.createDeployment({
    id, tenantId: t, app: r.app, actionId: action.id, kind: action.kind, image, port: port ?? null, replicas,
    envKeys: envRows.map((row) => row.key), status: 'running',
  });
  if (healthPath || target) await d.deploys.setDeploymentConfig(id, { ...(healthPath ? { healthPath } : {}), ...(target ? { target } : {}) });
  if (fromSource) {
    await progress(`Building ${r.app} from ${displaySource(r.source!)}${r.ref ? `#${r.ref}` : ''} (deployment ${id})`);
    const built = await d.builder!.build({ tenantId: t, app: r.app, deploymentId: id, source: r.source!, ref: r.ref, dockerfile: r.dockerfile ?? settings.dockerfile }, progress);
    image = built.image;
    await d.deploys.recordBuild(id, displaySource(r.source!), built.commit, image);
    await progress(`built ${image} from commit ${built.commit.slice(0, 12)}`);
  }
  await progress(`${prefix ? `${prefix}; d` : 'D'}eploying ${r.app}: ${image}${port ? ` port ${port}` : ''} ×${replicas} (deployment ${id})`);
  // Make this deployment the app's current one and move its stable endpoint onto the new
  // replicas: inside the rollout (before old replicas stop) where the target supports it.
  let endpointPort: number | undefined;
  let switched = false;
  const switchTo = async (res: DeployResult) => {
    // Two rows the endpoint's route joins: both written before it moves.
    await Promise.all([
      d.deploys.setHostPorts(id, res.hostPorts, res.replicaHost),
      d.store.upsertApp({ tenantId: t, name: r.app, image: image!, port: port ?? null, environment: r.environment, replicas, desired: 'running', currentDeploymentId: id }),
    ]);
    if (port && d.endpoints && !res.endpoint) endpointPort = await d.endpoints.route(t, r.app);
    switched = true;
  };
  const engineNow = deployerFor(d, target, r.environment);
  // The engine the app ran on until now: when the target changes, its replicas go once the new ones serve.
  let engineBefore: Deployer | undefined;
  try { engineBefore = app?.currentDeploymentId ? deployerFor(d, settings.target, app.environment) : undefined; } catch { engineBefore = undefined; }
  const res = await engineNow.deploy({
    tenantId: t, app: r.app, deploymentId: id, actionId: action.id, image, port, replicas, env, pull: policy.pull, ...(healthPath ? { healthPath } : {}),
  }, progress, { switchTo });
  if (!switched) await switchTo(res);
  let moved = '';
  if (engineBefore && engineBefore !== engineNow) {
    try {
      const n = await engineBefore.remove(t, r.app);
      if (n) moved = ` Removed ${n} replica${n === 1 ? '' : 's'} from ${settings.target ?? app?.environment ?? 'the default engine'}.`;
    } catch (e) {
      moved = ` The old replicas on ${settings.target ?? 'the previous target'} could not be removed (${isHoistError(e) ? e.userMessage : 'engine error'}); remove them by hand.`;
    }
  }
  const now = d.clock.now();
  const patch: AppDeploySettings = {
    ...(fromSource ? { source: r.source, ref: r.ref, dockerfile: r.dockerfile ?? settings.dockerfile } : r.image && action.kind === 'deploy' ? { source: undefined, ref: undefined } : {}),
    ...(r.healthPath ? { healthPath: r.healthPath } : {}),
    ...(r.target ? { target: r.target } : {}),
  };
  // An unchanged patch needs no write.
  const changed = Object.entries(patch).some(([k, v]) => (v === undefined ? k in settings : settings[k as keyof AppDeploySettings] !== v));
  // Separate rows (the prune keeps running and succeeded deployments alike): together.
  await Promise.all([
    d.store.finishDeployment(id, 'succeeded', { hostPorts: res.hostPorts }, now),
    changed ? d.deploys.patchAppSettings(t, r.app, patch) : undefined,
    d.builder ? pruneBuilt(d, t, r.app) : undefined,
  ]);
  const where = endpointPort ? ` on :${endpointPort}` : res.endpoint ? ` at ${res.endpoint}` : res.hostPorts.length ? ` on ${res.hostPorts.map((p) => `:${p}`).join(', ')}` : '';
  const built = fromSource ? ` built from ${displaySource(r.source!)}${r.ref ? `#${r.ref}` : ''}` : '';
  if (replicas === 0) return `${prefix ? `${prefix}. ` : ''}${r.app} scaled to 0 replicas (deployment ${id}).`;
  return `${prefix ? `${prefix}. ` : ''}${r.app} is running${where} (${image}${built}, ${replicas} replica${replicas === 1 ? '' : 's'}, deployment ${id}).${moved}`;
}

/**
 * After replicas were (re)started in place their host ports may have changed: the current
 * deployment's ports are written back and the endpoint follows. Returns the stable port.
 */
export async function refreshRoute(d: Pick<ProcessorDeps, 'store' | 'deploys' | 'endpoints'>, tenantId: string, app: string, reps: ReplicaInfo[]): Promise<number | undefined> {
  const row = await d.store.getApp(tenantId, app);
  if (!row?.currentDeploymentId || !row.port || !d.endpoints) return undefined;
  const ports = reps.filter((r) => r.deploymentId === row.currentDeploymentId && r.hostPort && r.state === 'running').map((r) => r.hostPort!);
  await d.deploys.setHostPorts(row.currentDeploymentId, ports);
  return d.endpoints.route(tenantId, app);
}

/** Keeps the images of the last N deployments (rollback is one click) and removes older ones Hoist built. */
async function pruneBuilt(d: Deps, tenantId: string, app: string): Promise<void> {
  const keepN = d.keepDeployments ?? DEFAULT_KEEP;
  const all = await d.deploys.deployments(tenantId, app, 200);
  const kept = all.filter((x) => x.status === 'succeeded' || x.status === 'running').slice(0, keepN);
  // A rollback deployment runs the image an earlier deployment built (tagged with that one's id).
  const keep = new Set(kept.flatMap((x) => [x.id, /:(dep-[A-Za-z0-9_.-]+)$/.exec(x.image)?.[1] ?? x.id]));
  try {
    await d.builder!.prune(tenantId, app, keep);
  } catch (e) {
    d.logger.warn({ app, err: String(e) }, 'build.prune_failed');
  }
}
