/**
 * Converges actual containers to desired state (Postgres), at worker start and then
 * periodically (workers/main.ts). Desired: the apps table (desired running|stopped, the
 * current deployment, replicas) and that deployment's row (image, port, env names, health
 * path). Actual: containers labelled hoist.managed=1 on each watched target.
 * - A replica of the current deployment that is not running while the app should run is
 *   started again (health-gated); a running one of a stopped app is stopped.
 * - Fewer replicas of the current deployment than desired (removed behind Hoist's back, lost
 *   with the engine): the missing ones are created again from the deployment row, with the
 *   app's env opened here, in the worker, only for the create call (a repair rollout: what
 *   still serves is never touched, and a failure removes only what the repair created).
 * - A container Hoist created for one of this installation's tenants that belongs to no app,
 *   or to a deployment that is neither current nor in progress, is removed (after a grace
 *   period, so a rollout is never raced). Other tenants' containers are never touched.
 * - Every change to an app is made holding the app's rollout lease (lease.ts), so it never
 *   runs beside a rollout; apps leased when the pass starts are skipped altogether.
 * Every change is reported in the app's last thread as one progress line per pass.
 * Each step is idempotent, so two workers reconciling at once do no harm.
 */
import { randomUUID } from 'node:crypto';
import type { Sealer } from '../../db/crypto.ts';
import type { DeployRepo } from '../../db/deploy-repo.ts';
import type { Store } from '../../db/repo.ts';
import type { Logger } from '../../bot/core/types.ts';
import { allowlistFrom, pullAllowed, registryAllowed, userMessageFor } from '../contract/index.ts';
import type { Deployer, ManagedReplica, ReplicaInfo } from './deployer.ts';
import { DEFAULT_LEASE, withLease, type LeaseOptions } from './lease.ts';
import type { ResultSink } from './processor.ts';

type AppRow = Awaited<ReturnType<DeployRepo['allApps']>>[number];

export interface ReconcilerDeps {
  deploys: DeployRepo;
  /** Targets whose containers the reconciler watches (Swarm converges by itself and is not listed). */
  deployers: Deployer[];
  results: ResultSink;
  logger: Logger;
  /** Told after replicas were started or created again (their host ports may have changed). */
  restarted?: (tenantId: string, app: string, replicas: ReplicaInfo[]) => Promise<void>;
  /**
   * What recreating missing replicas needs: the app's sealed env and the target each app runs
   * on (undefined: not one of `deployers`, e.g. Swarm). Without it missing replicas are only reported.
   */
  recreate?: {
    store: Pick<Store, 'envVarRows'>;
    sealer: Pick<Sealer, 'open'>;
    deployerOf(app: AppRow): Deployer | undefined;
    /** The installation's registry allowlist: may a missing image be pulled again? */
    allowedRegistries?: readonly string[];
  };
  lease?: Partial<LeaseOptions>;
  /** Containers younger than this are never treated as orphans, and apps switched more recently are not repaired. */
  orphanGraceMs?: number;
  now?: () => number;
}

export interface ReconcileReport {
  restarted: string[];
  stopped: string[];
  removed: string[];
  /** Replicas created again (container names). */
  recreated: string[];
  /** Apps short of replicas that were not (or could not be) recreated: "app: have/want". */
  missing: string[];
}

const key = (tenantId: string, app: string) => `${tenantId}\0${app}`;
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

export async function reconcileOnce(d: ReconcilerDeps): Promise<ReconcileReport> {
  const now = d.now?.() ?? Date.now();
  const grace = d.orphanGraceMs ?? 60_000;
  const lease = { ...DEFAULT_LEASE, ...d.lease };
  // Unique per pass: two workers' reconcilers must not both "hold" one lease.
  const holder = `reconciler:${randomUUID()}`;
  const report: ReconcileReport = { restarted: [], stopped: [], removed: [], recreated: [], missing: [] };
  const apps = new Map((await d.deploys.allApps()).map((a) => [key(a.tenantId, a.name), a]));
  const leased = new Set((await d.deploys.leasedApps()).map((l) => key(l.tenantId, l.app)));
  const drift = new Map<string, { tenantId: string; app: string; lines: string[] }>();
  const note = (tenantId: string, app: string, line: string) => {
    const k = key(tenantId, app);
    const cur = drift.get(k) ?? { tenantId, app, lines: [] };
    cur.lines.push(line);
    drift.set(k, cur);
  };
  /** Runs `fn` holding the app's lease; undefined when a rollout holds it (that rollout converges the app). */
  const underLease = async <T>(tenantId: string, app: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const out = await withLease(d.deploys, { tenantId, app, holder }, lease, d.logger, fn);
    return out.ran ? out.value : undefined;
  };
  const seen = new Map<Deployer, ManagedReplica[]>();

  for (const deployer of d.deployers) {
    let managed: ManagedReplica[];
    try {
      managed = await deployer.listManaged();
    } catch (e) {
      // One unreachable engine must not stop the others' repair; its apps are skipped this pass.
      d.logger.warn({ err: userMessageFor(e) }, 'reconcile.target_unreachable');
      continue;
    }
    // Containers of tenants this installation does not know belong to someone else: never touched.
    const known = await d.deploys.knownTenants([...new Set(managed.map((r) => r.tenantId))]);
    const all = managed.filter((r) => known.has(r.tenantId));
    seen.set(deployer, all);
    const byApp = new Map<string, ManagedReplica[]>();
    for (const r of all) byApp.set(key(r.tenantId, r.app), [...(byApp.get(key(r.tenantId, r.app)) ?? []), r]);
    const depIds = [...new Set(all.map((r) => r.deploymentId))];
    const inProgress = new Set((await d.deploys.deploymentsByIds(depIds)).filter((x) => x.status === 'running').map((x) => x.id));

    for (const [k, replicas] of byApp) {
      if (leased.has(k)) continue;
      const { tenantId, app } = replicas[0]!;
      const row = apps.get(k);
      const current = row?.currentDeploymentId ?? undefined;
      for (const r of replicas) {
        const orphan = r.deploymentId !== current && !inProgress.has(r.deploymentId) && now - r.createdAt >= grace;
        if (!orphan) continue;
        await deployer.removeReplica(tenantId, r.containerId);
        report.removed.push(r.name);
        // An app without a row has no thread to tell; the log line is all.
        if (row) note(tenantId, app, `removed ${r.name} (deployment ${r.deploymentId} is not current)`);
      }
      if (!row || !current) continue;
      const mine = replicas.filter((r) => r.deploymentId === current);
      if (row.desired === 'stopped') {
        const running = mine.filter((r) => r.state === 'running' || r.state === 'restarting');
        if (running.length > 0 && (await underLease(tenantId, app, () => deployer.stop(tenantId, app)))) {
          report.stopped.push(...running.map((r) => r.name));
          note(tenantId, app, `${running.length} replica(s) were running although ${app} is stopped; stopped them`);
        }
        continue;
      }
      const down = mine.filter((r) => r.state === 'exited' || r.state === 'created' || r.state === 'dead');
      if (down.length > 0) {
        const what = down.map((r) => `${r.name.replace(/^.*-(\d+)$/, 'replica $1')} (${r.state})`).join(', ');
        try {
          const reps = await underLease(tenantId, app, () => deployer.start(tenantId, app, () => undefined));
          if (reps) {
            await d.restarted?.(tenantId, app, reps);
            report.restarted.push(...down.map((r) => r.name));
            note(tenantId, app, `${app}: ${what} had stopped; started again and healthy`);
          }
        } catch (e) {
          note(tenantId, app, `${app}: ${what} had stopped and could not be started again: ${userMessageFor(e)}`);
        }
      }
    }
  }

  // Missing replicas, including apps none of whose replicas is left on their target.
  for (const [k, row] of apps) {
    if (leased.has(k) || row.desired !== 'running' || !row.currentDeploymentId || row.replicas < 1) continue;
    // Just switched: the rollout that did it may still be finishing.
    if (now - row.updatedAt.getTime() < grace) continue;
    const owner = d.recreate ? d.recreate.deployerOf(row) : d.deployers.length === 1 ? d.deployers[0] : undefined;
    const list = owner && seen.get(owner);
    if (!owner || !list) continue;
    const have = list.filter((r) => r.tenantId === row.tenantId && r.app === row.name && r.deploymentId === row.currentDeploymentId).length;
    if (have >= row.replicas) continue;
    const { tenantId, name: app } = row;
    const short = `${app} had ${have} of ${plural(row.replicas, 'replica')}`;
    if (!d.recreate) {
      report.missing.push(`${app}: ${have}/${row.replicas}`);
      note(tenantId, app, `${short}; redeploy or restart it to bring the rest back`);
      continue;
    }
    try {
      const made = await underLease(tenantId, app, () => recreateMissing(d, owner, row.tenantId, row.name));
      if (!made) continue;
      report.recreated.push(...made.created);
      note(tenantId, app, `${short} (deployment ${made.deploymentId}); created ${plural(made.created.length, 'replica')} again, healthy`);
    } catch (e) {
      report.missing.push(`${app}: ${have}/${row.replicas}`);
      note(tenantId, app, `${short} and could not create the missing ones again: ${userMessageFor(e)}`);
    }
  }

  for (const { tenantId, app, lines } of drift.values()) {
    d.logger.warn({ tenant: tenantId, app, drift: lines.length }, 'reconcile.drift');
    const actionId = await d.deploys.lastActionOf(tenantId, app);
    if (!actionId) continue;
    await d.results.publish({ actionId, tenantId, kind: 'progress', status: 'running', seq: Date.now() * 100 + 99,
      text: `Reconciler: ${lines.join('; ')}.` });
  }
  return report;
}

/**
 * Re-reads the app under its lease (a rollout may have finished since the pass began) and
 * re-runs its current deployment as a repair. Returns the names of the replicas created, or
 * undefined when there is nothing to do any more.
 */
async function recreateMissing(d: ReconcilerDeps, deployer: Deployer, tenantId: string, app: string) {
  const r = d.recreate!;
  const row = await d.deploys.app(tenantId, app);
  if (!row || row.desired !== 'running' || !row.currentDeploymentId) return undefined;
  const [dep] = await d.deploys.deploymentsByIds([row.currentDeploymentId]);
  if (!dep) return undefined;
  const before = new Set((await deployer.status(tenantId, app)).map((x) => x.containerId));
  const keys = new Set(Array.isArray(dep.envKeys) ? (dep.envKeys as string[]) : []);
  const env: Record<string, string> = {};
  for (const e of await r.store.envVarRows(tenantId, app)) {
    if (keys.has(e.key)) env[e.key] = await r.sealer.open(tenantId, `env:${app}:${e.key}`, e.ciphertext);
  }
  const list = allowlistFrom(await d.deploys.tenantSettings(tenantId), r.allowedRegistries);
  const config = (dep.config ?? {}) as { healthPath?: string };
  const res = await deployer.deploy({
    tenantId, app, deploymentId: dep.id, actionId: dep.actionId, image: dep.image, port: dep.port ?? undefined,
    replicas: row.replicas, env, pull: registryAllowed(dep.image, list) && pullAllowed(dep.image, list),
    ...(config.healthPath ? { healthPath: config.healthPath } : {}),
  }, () => undefined, {
    repair: true,
    switchTo: async (out) => { await d.restarted?.(tenantId, app, out.replicas); },
  });
  return { deploymentId: dep.id, created: res.replicas.filter((x) => !before.has(x.containerId)).map((x) => x.name) };
}

/** Runs `reconcileOnce` now and every `intervalMs`; never two passes at once in this process. */
export function startReconciler(d: ReconcilerDeps, intervalMs: number): { stop(): Promise<void>; runNow(): Promise<ReconcileReport | undefined> } {
  let running: Promise<ReconcileReport | undefined> | undefined;
  const pass = () => {
    running ??= reconcileOnce(d)
      .catch((err: unknown) => {
        d.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'reconcile.failed');
        return undefined;
      })
      .finally(() => (running = undefined));
    return running;
  };
  void pass();
  const timer = setInterval(() => void pass(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
    runNow: pass,
  };
}
