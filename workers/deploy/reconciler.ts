/**
 * Converges actual containers to desired state (Postgres), at worker start and then
 * periodically (workers/main.ts). Desired: the apps table (desired running|stopped, the
 * current deployment, replicas). Actual: containers labelled hoist.managed=1 on each target.
 * - A replica of the current deployment that is not running while the app should run is
 *   started again (health-gated); a running one of a stopped app is stopped.
 * - A container Hoist created for one of this installation's tenants that belongs to no app,
 *   or to a deployment that is neither current nor in progress, is removed (after a grace
 *   period, so a rollout is never raced). Other tenants' containers are never touched.
 * - Apps whose rollout lease is live are skipped: the rollout owns them right now.
 * - Fewer replicas than desired is reported, not fixed: the next deploy or restart fixes it.
 * Every change is reported in the app's last thread as a progress line.
 * Each step is idempotent, so two workers reconciling at once do no harm.
 */
import type { DeployRepo } from '../../db/deploy-repo.ts';
import type { Logger } from '../../bot/core/types.ts';
import { userMessageFor } from '../contract/index.ts';
import type { Deployer, ManagedReplica, ReplicaInfo } from './deployer.ts';
import type { ResultSink } from './processor.ts';

export interface ReconcilerDeps {
  deploys: DeployRepo;
  /** Targets whose containers the reconciler watches (Swarm converges by itself and is not listed). */
  deployers: Deployer[];
  results: ResultSink;
  logger: Logger;
  /** Told after replicas were started again (their host ports may have changed). */
  restarted?: (tenantId: string, app: string, replicas: ReplicaInfo[]) => Promise<void>;
  /** Containers younger than this are never treated as orphans. */
  orphanGraceMs?: number;
  now?: () => number;
}

export interface ReconcileReport {
  restarted: string[];
  stopped: string[];
  removed: string[];
  missing: string[];
}

const key = (tenantId: string, app: string) => `${tenantId}\0${app}`;

export async function reconcileOnce(d: ReconcilerDeps): Promise<ReconcileReport> {
  const now = d.now?.() ?? Date.now();
  const grace = d.orphanGraceMs ?? 60_000;
  const report: ReconcileReport = { restarted: [], stopped: [], removed: [], missing: [] };
  const apps = new Map((await d.deploys.allApps()).map((a) => [key(a.tenantId, a.name), a]));
  const leased = new Set((await d.deploys.leasedApps()).map((l) => key(l.tenantId, l.app)));
  const drift = new Map<string, { tenantId: string; app: string; lines: string[] }>();
  const note = (tenantId: string, app: string, line: string) => {
    const k = key(tenantId, app);
    const cur = drift.get(k) ?? { tenantId, app, lines: [] };
    cur.lines.push(line);
    drift.set(k, cur);
  };

  for (const deployer of d.deployers) {
    const managed = await deployer.listManaged();
    // Containers of tenants this installation does not know belong to someone else: never touched.
    const known = await d.deploys.knownTenants([...new Set(managed.map((r) => r.tenantId))]);
    const all = managed.filter((r) => known.has(r.tenantId));
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
        if (running.length > 0) {
          await deployer.stop(tenantId, app);
          report.stopped.push(...running.map((r) => r.name));
          note(tenantId, app, `${running.length} replica(s) were running although ${app} is stopped; stopped them`);
        }
        continue;
      }
      const down = mine.filter((r) => r.state === 'exited' || r.state === 'created');
      if (down.length > 0) {
        const what = down.map((r) => `${r.name.replace(/^.*-(\d+)$/, 'replica $1')} (${r.state})`).join(', ');
        try {
          const reps = await deployer.start(tenantId, app, () => undefined);
          await d.restarted?.(tenantId, app, reps);
          report.restarted.push(...down.map((r) => r.name));
          note(tenantId, app, `${app}: ${what} had stopped; started again and healthy`);
        } catch (e) {
          note(tenantId, app, `${app}: ${what} had stopped and could not be started again: ${userMessageFor(e)}`);
        }
      }
      if (mine.length < row.replicas && now - row.updatedAt.getTime() >= grace) {
        report.missing.push(`${app}: ${mine.length}/${row.replicas}`);
        note(tenantId, app, `${app} has ${mine.length} of ${row.replicas} replicas; redeploy or restart it to bring the rest back`);
      }
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
