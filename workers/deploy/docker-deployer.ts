/**
 * Deployer on a single Docker engine (dockerode). Each tenant gets its own bridge network;
 * each replica is a hardened container named and labelled after tenant, app, deployment
 * and replica index, so every call rediscovers state from labels and a re-run converges.
 * A rollout starts the new replicas next to the old ones, gates on health, and only then
 * removes the old deployment; a failed rollout removes its own containers instead.
 */
import Dockerode from 'dockerode';
import { HoistError, isHoistError } from '../contract/errors.ts';
import { noCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { Deployer, DeployHooks, DeployResult, DeploySpec, ManagedReplica, ProgressFn, ReplicaInfo } from './deployer.ts';
import { hostPortOf, waitHealthy, type HealthOutcome, type HealthTarget } from './docker-health.ts';
import {
  containerPortOf,
  ensureImage,
  hasHealthcheckConfig,
  inspectImage,
  removeTenantNetworks,
  replicaCreateOptions,
  replicaFromInspect,
  resolveTenantNetwork,
  validateSpec,
} from './docker-objects.ts';
import {
  LABEL,
  assertTenant,
  demuxLogs,
  describeDockerHost,
  dockerOptionsFor,
  ignoreStatus,
  isEngineUnreachable,
  statusCodeOf,
  timestampKey,
  unreachable,
} from './docker-support.ts';

export interface DockerDeployerOptions {
  /** Host address the replicas' ports are published on (default 127.0.0.1: reachable only locally). */
  publishAddress?: string;
  /** Where the TCP health probe connects; defaults to publishAddress (loopback for a wildcard). */
  probeHost?: string;
  healthTimeoutMs?: number;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /** Seconds a replica gets to exit on SIGTERM before SIGKILL (stop, restart, replacement). */
  stopTimeoutSec?: number;
  pullTimeoutMs?: number;
  /** Shown in docker_unreachable messages, e.g. the DOCKER_HOST value. */
  dockerHostLabel?: string;
  /** Test-only pause points (checkpoint.ts). */
  checkpoint?: Checkpoint;
  /** HOIST_TARGETS name of this engine: labels its replicas, and its reconciler view is only those. */
  targetName?: string;
  /** Where the proxy reaches this engine's published ports (a remote engine's host). */
  replicaHost?: string;
}

type Settings = Required<Omit<DockerDeployerOptions, 'targetName' | 'replicaHost'>> & Pick<DockerDeployerOptions, 'targetName' | 'replicaHost'>;
type AppReplica = ReplicaInfo & { app: string };

const FAILURE_LOG_LINES = 20;
const MAX_LOG_LINES = 5000;

export class DockerDeployer implements Deployer {
  private readonly s: Settings;
  private readonly networksInFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly docker: Dockerode,
    opts: DockerDeployerOptions = {},
  ) {
    const publishAddress = opts.publishAddress ?? '127.0.0.1';
    const wildcard = publishAddress === '0.0.0.0' || publishAddress === '';
    this.s = {
      publishAddress,
      probeHost: opts.probeHost ?? (wildcard ? '127.0.0.1' : publishAddress === '::' ? '::1' : publishAddress),
      healthTimeoutMs: opts.healthTimeoutMs ?? 30_000,
      memoryBytes: opts.memoryBytes ?? 256 * 1024 * 1024,
      nanoCpus: opts.nanoCpus ?? 500_000_000,
      pidsLimit: opts.pidsLimit ?? 256,
      stopTimeoutSec: opts.stopTimeoutSec ?? 10,
      pullTimeoutMs: opts.pullTimeoutMs ?? 5 * 60_000,
      dockerHostLabel: opts.dockerHostLabel ?? describeDockerHost(docker),
      checkpoint: opts.checkpoint ?? noCheckpoint,
      targetName: opts.targetName,
      replicaHost: opts.replicaHost,
    };
  }

  deploy(spec: DeploySpec, progress: ProgressFn, hooks: DeployHooks = {}): Promise<DeployResult> {
    return this.guard(() => this.rollout(spec, progress, hooks));
  }

  restart(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(async () => {
      const list = await this.listOwned(tenantId, { app });
      // One at a time, so an app with several replicas keeps serving throughout.
      for (const [i, c] of list.entries()) {
        await progress(`restarting replica ${i + 1}/${list.length}`);
        const container = this.docker.getContainer(c.Id);
        const before = await container.inspect();
        await container.restart({ t: this.s.stopTimeoutSec });
        await this.awaitHealthy(app, [await this.targetFor(container, c, before)], progress);
      }
      return this.status(tenantId, app);
    });
  }

  stop(tenantId: string, app: string): Promise<ReplicaInfo[]> {
    return this.guard(async () => {
      const list = await this.listOwned(tenantId, { app });
      await Promise.all(list.filter((c) => c.State !== 'exited').map((c) => this.stopContainer(c.Id)));
      return this.status(tenantId, app);
    });
  }

  start(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(async () => {
      const list = await this.listOwned(tenantId, { app });
      const targets: HealthTarget[] = [];
      for (const [i, c] of list.entries()) {
        const container = this.docker.getContainer(c.Id);
        const before = await container.inspect();
        if (!before.State.Running) {
          await progress(`starting replica ${i + 1}/${list.length}`);
          await startContainer(container);
        }
        targets.push(await this.targetFor(container, c, before));
      }
      if (targets.length > 0) await this.awaitHealthy(app, targets, progress);
      return this.status(tenantId, app);
    });
  }

  status(tenantId: string, app?: string): Promise<AppReplica[]> {
    return this.guard(async () => (await this.listOwned(tenantId, { app })).map((c) => this.replicaFromList(c)));
  }

  logs(tenantId: string, app: string, lines: number): Promise<string> {
    return this.guard(async () => {
      const tail = Math.min(Math.max(Math.floor(lines) || 1, 1), MAX_LOG_LINES);
      const list = await this.listOwned(tenantId, { app });
      const tagged = list.length > 1;
      const all: Array<{ key: string; text: string }> = [];
      for (const c of list) {
        // Timestamps are requested only to interleave replicas by time; they are stripped below.
        const raw = await this.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail, timestamps: true });
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
    });
  }

  remove(tenantId: string, app?: string): Promise<number> {
    return this.guard(async () => {
      const list = await this.listOwned(tenantId, { app });
      await Promise.all(list.map((c) => this.removeContainer(c.Id)));
      if (app === undefined) {
        await removeTenantNetworks(this.docker, tenantId);
      }
      return list.length;
    });
  }

  ping(): Promise<void> {
    return this.guard(async () => {
      await this.docker.ping();
    });
  }

  listManaged(): Promise<ManagedReplica[]> {
    return this.guard(async () => {
      const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=1`] } });
      return list
        .filter((c) => c.Labels[LABEL.tenant] && c.Labels[LABEL.app])
        // Several targets may share one engine: each watches only what it created.
        .filter((c) => c.Labels[LABEL.target] === this.s.targetName)
        .map((c) => ({ ...this.replicaFromList(c), tenantId: c.Labels[LABEL.tenant]!, createdAt: c.Created * 1000 }));
    });
  }

  removeReplica(tenantId: string, containerId: string): Promise<void> {
    return this.guard(async () => {
      await this.inspectOwned(tenantId, containerId);
      await this.retireContainer(containerId);
    });
  }

  /** One replica by container id or name, refused unless it belongs to `tenantId`. */
  replica(tenantId: string, idOrName: string): Promise<AppReplica> {
    return this.guard(async () => {
      const info = await this.inspectOwned(tenantId, idOrName);
      const labels = info.Config.Labels ?? {};
      return {
        ...replicaFromInspect(info, hostPortOf(info, containerPortOf(info))),
        app: labels[LABEL.app] ?? '',
      };
    });
  }

  private async rollout(spec: DeploySpec, progress: ProgressFn, hooks: DeployHooks): Promise<DeployResult> {
    validateSpec(spec);
    // Independent engine calls, so they go together (each is a round trip on the approve-to-healthy path).
    const [hasHealthcheck, networkId, existing] = await Promise.all([
      ensureImage(this.docker, spec.image, progress, this.s.pullTimeoutMs, spec.pull ?? true),
      this.ensureNetwork(spec.tenantId),
      this.listOwned(spec.tenantId, { app: spec.app, deployment: spec.deploymentId }),
    ]);
    let switched = false;
    try {
      const targets: HealthTarget[] = [];
      for (let i = 1; i <= spec.replicas; i++) {
        await progress(`starting replica ${i}/${spec.replicas}`);
        const found = existing.find((c) => c.Labels[LABEL.replica] === String(i));
        if (found?.State === 'running' || found?.State === 'created') {
          // A re-run after a crash keeps what already runs (or never ran); health is still checked below.
          const container = this.docker.getContainer(found.Id);
          if (found.State === 'created') await startContainer(container);
          targets.push({ ...(await this.targetFor(container, found, await container.inspect(), hasHealthcheck, spec.port)), healthPath: spec.healthPath });
          continue;
        }
        if (found) await this.removeContainer(found.Id);
        const container = await this.createReplica(spec, i, networkId);
        await this.s.checkpoint('after-create');
        await startContainer(container);
        targets.push({ container, replica: i, port: spec.port, hasHealthcheck, restartsBefore: 0, healthPath: spec.healthPath });
      }
      const surplus = existing.filter((c) => Number(c.Labels[LABEL.replica]) > spec.replicas);
      await Promise.all(surplus.map((c) => this.removeContainer(c.Id)));

      const healthy = await this.awaitHealthy(spec.app, targets, progress);
      const replicas = healthy.map((h) => replicaFromInspect(h.info, h.hostPort));
      const result: DeployResult = {
        replicas,
        hostPorts: healthy.flatMap((h) => (h.hostPort ? [h.hostPort] : [])),
        ...(this.s.replicaHost ? { replicaHost: this.s.replicaHost } : {}),
      };
      // Traffic moves before anything old stops: the endpoint never points at a stopping replica.
      await hooks.switchTo?.(result);
      switched = true;
      const old = (await this.listOwned(spec.tenantId, { app: spec.app })).filter(
        (c) => c.Labels[LABEL.deployment] !== spec.deploymentId,
      );
      if (old.length > 0) {
        await progress(`removing ${old.length} old replica${old.length === 1 ? '' : 's'}`);
        await Promise.all(old.map((c) => this.retireContainer(c.Id)));
      }
      return result;
    } catch (e) {
      // After the switch the new replicas are what serves: they stay, whatever failed later.
      if (switched) throw e;
      // Only this deployment's containers go; the previous deployment keeps serving.
      const mine = await this.listOwned(spec.tenantId, { app: spec.app, deployment: spec.deploymentId });
      await Promise.all(mine.map((c) => this.removeContainer(c.Id)));
      throw e;
    }
  }

  /** Waits for every target; on the first failure throws rollout_unhealthy with that replica's last log lines. */
  private async awaitHealthy(
    app: string,
    targets: HealthTarget[],
    progress: ProgressFn,
  ): Promise<Array<Extract<HealthOutcome, { ok: true }>>> {
    await progress('waiting for health check');
    const deadline = Date.now() + this.s.healthTimeoutMs;
    let failed = false;
    const outcomes = await Promise.all(
      targets.map(async (t) => {
        const o = await waitHealthy(t, {
          deadline,
          probeHost: this.s.probeHost,
          timeoutMs: this.s.healthTimeoutMs,
          cancelled: () => failed,
        });
        if (!o.ok) failed = true;
        return o;
      }),
    );
    const failure = outcomes.find((o): o is Extract<HealthOutcome, { ok: false }> => !o.ok && !o.cancelled);
    if (failure) {
      const raw = await failure.target.container.logs({ stdout: true, stderr: true, tail: FAILURE_LOG_LINES });
      const lines = demuxLogs(raw).trimEnd() || '(no output)';
      throw new HoistError(
        'rollout_unhealthy',
        `${app} did not become healthy: ${failure.reason}. Last log lines:\n${lines}`,
      );
    }
    const ok = outcomes.filter((o): o is Extract<HealthOutcome, { ok: true }> => o.ok);
    for (const o of ok) {
      await progress(`replica ${o.target.replica} healthy${o.hostPort ? ` on :${o.hostPort}` : ''}`);
    }
    return ok;
  }

  /** Returns the network id; concurrent callers in this process share one creation. */
  private ensureNetwork(tenantId: string): Promise<string> {
    const pending = this.networksInFlight.get(tenantId);
    if (pending) return pending;
    const created = resolveTenantNetwork(this.docker, tenantId).finally(() => this.networksInFlight.delete(tenantId));
    this.networksInFlight.set(tenantId, created);
    return created;
  }

  private async createReplica(spec: DeploySpec, replica: number, networkId: string): Promise<Dockerode.Container> {
    const options = replicaCreateOptions(spec, replica, networkId, this.s);
    if (this.s.targetName) options.Labels = { ...options.Labels, [LABEL.target]: this.s.targetName };
    try {
      return await this.docker.createContainer(options);
    } catch (e) {
      if (statusCodeOf(e) !== 409) throw e;
      // Name already taken: a concurrent run of this job, or something that must not be touched.
      const info = await this.inspectConflicting(spec.tenantId, options.name ?? '');
      const l = info.Config.Labels ?? {};
      const same =
        l[LABEL.app] === spec.app && l[LABEL.deployment] === spec.deploymentId && l[LABEL.replica] === String(replica);
      if (!same) {
        const msg = `Container name ${options.name} is already used by another app or deployment.`;
        throw new HoistError('invalid_request', msg);
      }
      return this.docker.getContainer(info.Id);
    }
  }

  /** Docker reserves a name before the container exists, so a conflicting name can briefly inspect as 404. */
  private async inspectConflicting(tenantId: string, name: string): Promise<Dockerode.ContainerInspectInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inspectOwned(tenantId, name);
      } catch (e) {
        if (statusCodeOf(e) !== 404 || attempt >= 20) throw e;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** `before` is inspected before acting on the container, so later crashes show as restarts. */
  private async targetFor(
    container: Dockerode.Container,
    c: Dockerode.ContainerInfo,
    before: Dockerode.ContainerInspectInfo,
    hasHealthcheck?: boolean,
    port?: number,
  ): Promise<HealthTarget> {
    return {
      container,
      replica: Number(c.Labels[LABEL.replica] ?? 0),
      port: port ?? containerPortOf(before),
      hasHealthcheck: hasHealthcheck ?? hasHealthcheckConfig(await inspectImage(this.docker, before.Image)),
      restartsBefore: before.RestartCount,
    };
  }

  private async inspectOwned(tenantId: string, idOrName: string): Promise<Dockerode.ContainerInspectInfo> {
    const info = await this.docker.getContainer(idOrName).inspect();
    assertTenant(info.Config.Labels, tenantId, `Container ${info.Name.replace(/^\//, '')}`);
    return info;
  }

  private async listOwned(
    tenantId: string,
    by: { app?: string; deployment?: string },
  ): Promise<Dockerode.ContainerInfo[]> {
    const label = [`${LABEL.tenant}=${tenantId}`, `${LABEL.managed}=1`];
    if (by.app !== undefined) label.push(`${LABEL.app}=${by.app}`);
    if (by.deployment !== undefined) label.push(`${LABEL.deployment}=${by.deployment}`);
    const list = await this.docker.listContainers({ all: true, filters: { label } });
    for (const c of list) assertTenant(c.Labels, tenantId, `Container ${c.Names[0] ?? c.Id}`);
    const key = (c: Dockerode.ContainerInfo) =>
      `${c.Labels[LABEL.app]}\0${c.Labels[LABEL.deployment]}\0${(c.Labels[LABEL.replica] ?? '').padStart(4, '0')}`;
    return list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  private replicaFromList(c: Dockerode.ContainerInfo): AppReplica {
    const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1]?.replace('health: ', '');
    const published = c.Ports.filter((p) => p.PublicPort && p.Type === 'tcp');
    const port = published.find((p) => p.IP === this.s.publishAddress) ?? published[0];
    return {
      containerId: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      app: c.Labels[LABEL.app] ?? '',
      deploymentId: c.Labels[LABEL.deployment] ?? '',
      state: c.State,
      ...(health ? { health } : {}),
      ...(port ? { hostPort: port.PublicPort } : {}),
      image: c.Image,
    };
  }

  private async stopContainer(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .stop({ t: this.s.stopTimeoutSec })
      .catch(ignoreStatus(304));
  }

  /** Graceful stop first, so in-flight requests on an old replica can finish. */
  private async retireContainer(id: string): Promise<void> {
    await this.stopContainer(id).catch(ignoreStatus(404));
    await this.removeContainer(id);
  }

  private async removeContainer(id: string): Promise<void> {
    // 404: already gone; 409: another run is removing it right now. Both end where we want.
    await this.docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(ignoreStatus(404, 409));
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isHoistError(e)) throw e;
      if (isEngineUnreachable(e)) throw unreachable(this.s.dockerHostLabel, e);
      throw e;
    }
  }
}

/** Builds the client from a DOCKER_HOST-style string (unix:///path or tcp://host:port). */
export function createDockerDeployer(opts: DockerDeployerOptions & { dockerHost?: string } = {}): DockerDeployer {
  const { dockerHost = 'unix:///var/run/docker.sock', ...rest } = opts;
  const docker = new Dockerode(dockerOptionsFor(dockerHost));
  return new DockerDeployer(docker, { ...rest, dockerHostLabel: rest.dockerHostLabel ?? dockerHost });
}


async function startContainer(container: Dockerode.Container): Promise<void> {
  // 304: already running, which is what we wanted.
  await container.start().catch(ignoreStatus(304));
}
