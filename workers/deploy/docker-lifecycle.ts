/**
 * Operations on what already runs: restart (one replica at a time, each health-gated),
 * stop, start, status, logs (replicas interleaved by time), remove (the tenant network too
 * when the whole tenant goes), and the reconciler's view (listManaged, removeReplica,
 * replica). Every one finds containers by label through DockerReplicas, so it touches only
 * the tenant's own. Engine errors are mapped by the caller (DockerDeployer.guard).
 */
import type { ManagedReplica, ProgressFn, ReplicaInfo } from './deployer.ts';
import { hostPortOf, type HealthTarget } from './docker-health.ts';
import { containerPortOf, removeTenantNetworks, replicaFromInspect } from './docker-objects.ts';
import { startContainer, type AppReplica, type DockerReplicas } from './docker-replicas.ts';
import { LABEL, demuxLogs, timestampKey } from './docker-support.ts';

const MAX_LOG_LINES = 5000;

export async function statusOf(r: DockerReplicas, tenantId: string, app?: string): Promise<AppReplica[]> {
  return (await r.listOwned(tenantId, { app })).map((c) => r.fromList(c));
}

export async function restartApp(r: DockerReplicas, tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
  const list = await r.listOwned(tenantId, { app });
  // One at a time, so an app with several replicas keeps serving throughout.
  for (const [i, c] of list.entries()) {
    await progress(`restarting replica ${i + 1}/${list.length}`);
    const container = r.docker.getContainer(c.Id);
    const before = await container.inspect();
    await container.restart({ t: r.s.stopTimeoutSec });
    await r.awaitHealthy(app, [await r.targetFor(container, c, before)], progress);
  }
  return statusOf(r, tenantId, app);
}

export async function stopApp(r: DockerReplicas, tenantId: string, app: string): Promise<ReplicaInfo[]> {
  const list = await r.listOwned(tenantId, { app });
  await Promise.all(list.filter((c) => c.State !== 'exited').map((c) => r.stopContainer(c.Id)));
  return statusOf(r, tenantId, app);
}

export async function startApp(r: DockerReplicas, tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
  const list = await r.listOwned(tenantId, { app });
  const targets: HealthTarget[] = [];
  for (const [i, c] of list.entries()) {
    const container = r.docker.getContainer(c.Id);
    const before = await container.inspect();
    if (!before.State.Running) {
      await progress(`starting replica ${i + 1}/${list.length}`);
      await startContainer(container);
    }
    targets.push(await r.targetFor(container, c, before));
  }
  if (targets.length > 0) await r.awaitHealthy(app, targets, progress);
  return statusOf(r, tenantId, app);
}

export async function logsOf(r: DockerReplicas, tenantId: string, app: string, lines: number): Promise<string> {
  const tail = Math.min(Math.max(Math.floor(lines) || 1, 1), MAX_LOG_LINES);
  const list = await r.listOwned(tenantId, { app });
  const tagged = list.length > 1;
  const all: Array<{ key: string; text: string }> = [];
  for (const c of list) {
    // Timestamps are requested only to interleave replicas by time; they are stripped below.
    const raw = await r.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail, timestamps: true });
    for (const line of demuxLogs(raw).split('\n')) {
      if (!line) continue;
      const space = line.indexOf(' ');
      const ts = space > 0 ? line.slice(0, space) : '';
      const text = space > 0 ? line.slice(space + 1) : line;
      all.push({ key: timestampKey(ts), text: tagged ? `[r${c.Labels[LABEL.replica] ?? '?'}] ${text}` : text });
    }
  }
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return all
    .slice(-tail)
    .map((l) => l.text)
    .join('\n');
}

export async function removeApp(r: DockerReplicas, tenantId: string, app?: string): Promise<number> {
  // One app: only what this target created (several targets may share one engine). The whole
  // tenant (deletion): everything it owns on the engine.
  const list = (await r.listOwned(tenantId, { app })).filter((c) => app === undefined || c.Labels[LABEL.target] === r.s.targetName);
  await Promise.all(list.map((c) => r.removeContainer(c.Id)));
  if (app === undefined) {
    await removeTenantNetworks(r.docker, tenantId);
  }
  return list.length;
}

export async function listManaged(r: DockerReplicas): Promise<ManagedReplica[]> {
  const list = await r.docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=1`] } });
  return list
    .filter((c) => c.Labels[LABEL.tenant] && c.Labels[LABEL.app])
    // Several targets may share one engine: each watches only what it created.
    .filter((c) => c.Labels[LABEL.target] === r.s.targetName)
    .map((c) => ({ ...r.fromList(c), tenantId: c.Labels[LABEL.tenant]!, createdAt: c.Created * 1000 }));
}

export async function removeReplica(r: DockerReplicas, tenantId: string, containerId: string): Promise<void> {
  await r.inspectOwned(tenantId, containerId);
  await r.retireContainer(containerId);
}

/** One replica by container id or name, refused unless it belongs to `tenantId`. */
export async function replicaOf(r: DockerReplicas, tenantId: string, idOrName: string): Promise<AppReplica> {
  const info = await r.inspectOwned(tenantId, idOrName);
  const labels = info.Config.Labels ?? {};
  return {
    ...replicaFromInspect(info, hostPortOf(info, containerPortOf(info))),
    app: labels[LABEL.app] ?? '',
  };
}
