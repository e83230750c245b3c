/**
 * Deployer on Docker Swarm: one replicated service per app (`hoist-<tenant-slug>-<app>`) on
 * an overlay network per tenant, with the same hardening and labels as single-engine
 * replicas. A deploy updates the service; Swarm rolls it out one task at a time, starting
 * the new task before stopping the old (update_config order start-first), watches each new
 * task for `monitorMs`, and on failure rolls the service back by itself (failure_action
 * rollback, rollback_config start-first), so the old version keeps serving. Health is the
 * image's HEALTHCHECK, or a wget of the app's health path injected as the service's health
 * check. Ports are published in `host` mode by default (a free host port per task, read
 * back from the task status), which works on any engine; `publishMode: 'ingress'` uses the
 * routing mesh instead, whose port Swarm assigns once and keeps across updates (the app's
 * stable endpoint on a real cluster; this sandbox's kernel cannot run the mesh). Swarm
 * converges replicas itself, so the reconciler does not watch this target.
 */
import type Dockerode from 'dockerode';
import { HoistError, isHoistError } from '../contract/index.ts';
import type { Deployer, DeployResult, DeploySpec, ManagedReplica, ProgressFn, ReplicaInfo } from './deployer.ts';
import { ensureImage, validateSpec } from './docker-objects.ts';
import { LABEL, assertTenant, demuxLogs, ignoreStatus, isEngineUnreachable, tenantSlug, unreachable } from './docker-support.ts';

export interface SwarmDeployerOptions {
  publishAddress?: string;
  timeoutMs?: number;
  monitorMs?: number;
  memoryBytes?: number;
  nanoCpus?: number;
  publishMode?: 'host' | 'ingress';
}

const NS = 1_000_000;
const REPLICAS_LABEL = 'hoist.replicas';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const serviceName = (tenantId: string, app: string) => `hoist-${tenantSlug(tenantId)}-${app}`.slice(0, 63);

export class SwarmDeployer implements Deployer {
  private readonly o: Required<SwarmDeployerOptions>;
  constructor(private readonly docker: Dockerode, opts: SwarmDeployerOptions = {}) {
    this.o = { publishAddress: opts.publishAddress ?? '127.0.0.1', timeoutMs: opts.timeoutMs ?? 120_000, monitorMs: opts.monitorMs ?? 5_000,
      memoryBytes: opts.memoryBytes ?? 256 * 1024 * 1024, nanoCpus: opts.nanoCpus ?? 500_000_000, publishMode: opts.publishMode ?? 'host' };
  }

  deploy(spec: DeploySpec, progress: ProgressFn): Promise<DeployResult> {
    return this.guard(async () => {
      validateSpec(spec);
      await ensureImage(this.docker, spec.image, progress, 5 * 60_000, spec.pull ?? true);
      const network = await this.ensureNetwork(spec.tenantId);
      const existing = await this.inspect(spec.tenantId, spec.app);
      const body = this.serviceSpec(spec, network);
      if (existing && existing.Spec?.Labels?.[LABEL.deployment] === spec.deploymentId && existing.UpdateStatus?.State !== 'rollback_completed') {
        await progress('service already updated to this deployment (a re-run); waiting for it');
      } else if (existing) {
        await progress(`updating service ${body.Name} (start-first, automatic rollback)`);
        await this.docker.getService(existing.ID).update({ ...body, version: existing.Version?.Index });
      } else {
        await progress(`creating service ${body.Name}`);
        await this.docker.createService(body);
      }
      await this.awaitConverged(spec, !!existing, progress);
      const svc = (await this.inspect(spec.tenantId, spec.app))!;
      const replicas = (await this.tasks(spec.tenantId, spec.app)).filter((r) => r.deploymentId === spec.deploymentId);
      if (this.o.publishMode === 'ingress') {
        const hostPorts = (svc.Endpoint?.Ports ?? []).map((p) => p.PublishedPort).filter((p): p is number => !!p);
        return { replicas, hostPorts, ...(hostPorts[0] ? { endpoint: `${this.o.publishAddress}:${hostPorts[0]}` } : {}) };
      }
      return { replicas, hostPorts: replicas.flatMap((r) => (r.hostPort ? [r.hostPort] : [])) };
    });
  }

  private serviceSpec(spec: DeploySpec, network: string): Dockerode.CreateServiceOptions & { Name: string } {
    const labels = { [LABEL.tenant]: spec.tenantId, [LABEL.app]: spec.app, [LABEL.deployment]: spec.deploymentId,
      [LABEL.action]: spec.actionId, [LABEL.managed]: '1', [REPLICAS_LABEL]: String(spec.replicas) };
    const health = spec.healthPath && spec.port
      ? { Test: ['CMD-SHELL', `wget -q -O /dev/null http://127.0.0.1:${spec.port}${spec.healthPath} || exit 1`], Interval: 1000 * NS, Timeout: 2000 * NS, Retries: 3 }
      : undefined;
    const policy = { Parallelism: 1, Order: 'start-first', FailureAction: 'rollback', Monitor: this.o.monitorMs * NS, MaxFailureRatio: 0 };
    return {
      Name: serviceName(spec.tenantId, spec.app),
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: spec.image, Labels: labels, Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          // no-new-privileges is not in the service API before 1.46; the engine here speaks 1.41.
          CapabilityDrop: ['ALL'], Init: true, ...(health ? { HealthCheck: health } : {}),
        },
        Resources: { Limits: { MemoryBytes: this.o.memoryBytes, NanoCPUs: this.o.nanoCpus } },
        RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3, Delay: 1000 * NS },
        Networks: [{ Target: network }],
      },
      Mode: { Replicated: { Replicas: spec.replicas } },
      UpdateConfig: policy,
      RollbackConfig: { ...policy, FailureAction: 'pause' },
      EndpointSpec: spec.port ? { Ports: [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: this.o.publishMode }] } : {},
    };
  }

  /** An update ends completed or rolled back (Swarm's UpdateStatus); a new service when its tasks run. */
  private async awaitConverged(spec: DeploySpec, update: boolean, progress: ProgressFn): Promise<void> {
    await progress('waiting for Swarm to converge');
    const deadline = Date.now() + this.o.timeoutMs;
    let lastState = '';
    while (Date.now() < deadline) {
      const svc = await this.inspect(spec.tenantId, spec.app);
      if (!svc) throw new HoistError('rollout_unhealthy', `The service of ${spec.app} disappeared during the rollout.`);
      const st = svc.UpdateStatus?.State ?? '';
      if (st !== lastState && st) await progress(`swarm: ${st}${svc.UpdateStatus?.Message ? ` (${svc.UpdateStatus.Message})` : ''}`);
      lastState = st;
      if (st.startsWith('rollback') || st === 'paused') {
        if (st === 'rollback_started') { await sleep(500); continue; }
        throw new HoistError('rollout_unhealthy', `${spec.app} did not become healthy; Swarm rolled it back to the previous version (${svc.UpdateStatus?.Message ?? st}).${await this.lastLogs(svc.ID)}`);
      }
      const tasks = await this.rawTasks(spec.tenantId, spec.app);
      const mine = tasks.filter((t) => t.Spec?.ContainerSpec?.Labels?.[LABEL.deployment] === spec.deploymentId);
      const running = mine.filter((t) => t.Status?.State === 'running' && t.DesiredState === 'running');
      const updated = !update || st === 'completed' || (st === '' && running.length >= spec.replicas);
      if (updated && running.length >= spec.replicas && await this.monitorPassed(running)) return;
      const failed = mine.filter((t) => t.Status?.State === 'failed' || t.Status?.State === 'rejected');
      if (!update && failed.length >= 3) {
        await this.docker.getService(svc.ID).remove().catch(ignoreStatus(404));
        throw new HoistError('rollout_unhealthy', `${spec.app} did not become healthy: ${failed[0]?.Status?.Err ?? 'its tasks keep failing'}.`);
      }
      await sleep(500);
    }
    throw new HoistError('rollout_unhealthy', `${spec.app} did not converge within ${Math.round(this.o.timeoutMs / 1000)}s.`);
  }

  /** A new service has no update monitor: its tasks must have run for the monitor window. */
  private async monitorPassed(tasks: Array<{ Status?: { Timestamp?: string } }>): Promise<boolean> {
    return tasks.every((t) => Date.now() - Date.parse(t.Status?.Timestamp ?? '') >= Math.min(this.o.monitorMs, 2000));
  }

  private async lastLogs(serviceId: string): Promise<string> {
    try {
      const raw = (await this.docker.getService(serviceId).logs({ stdout: true, stderr: true, tail: 10 })) as unknown as Buffer;
      const text = demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).trimEnd();
      return text ? ` Last log lines:\n${text}` : '';
    } catch {
      return '';
    }
  }

  private async ensureNetwork(tenantId: string): Promise<string> {
    const name = `hoist-s-${tenantSlug(tenantId)}`;
    const find = async () => (await this.docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
    let nets = await find();
    if (nets.length === 0) {
      await this.docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: false, CheckDuplicate: true,
        Labels: { [LABEL.tenant]: tenantId, [LABEL.managed]: '1' } }).catch(ignoreStatus(409));
      nets = await find();
    }
    for (const n of nets) assertTenant(n.Labels, tenantId, `Network ${name}`);
    return nets[0]!.Id;
  }

  private async inspect(tenantId: string, app: string) {
    const svc = await this.docker.getService(serviceName(tenantId, app)).inspect().catch(ignoreStatus(404)) as
      | (Dockerode.Service & { ID: string; Version?: { Index: number }; Spec?: { Labels?: Record<string, string> }; UpdateStatus?: { State?: string; Message?: string }; Endpoint?: { Ports?: Array<{ PublishedPort?: number }> } })
      | undefined;
    if (svc) assertTenant(svc.Spec?.Labels, tenantId, `Service ${serviceName(tenantId, app)}`);
    return svc;
  }

  private async rawTasks(tenantId: string, app?: string) {
    const label = [`${LABEL.tenant}=${tenantId}`, `${LABEL.managed}=1`];
    const services = (await this.docker.listServices({ filters: { label } })) as Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>;
    const out = [];
    for (const s of services) {
      assertTenant(s.Spec?.Labels, tenantId, `Service ${s.Spec?.Name ?? s.ID}`);
      if (app !== undefined && s.Spec?.Labels?.[LABEL.app] !== app) continue;
      const tasks = (await this.docker.listTasks({ filters: { service: [s.ID] } })) as Array<{
        ID: string; Slot?: number; DesiredState?: string; Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
        Status?: { State?: string; Err?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string }; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
      }>;
      out.push(...tasks.map((t) => ({ ...t, app: s.Spec?.Labels?.[LABEL.app] ?? '' })));
    }
    return out;
  }

  private async tasks(tenantId: string, app?: string): Promise<Array<ReplicaInfo & { app: string }>> {
    return (await this.rawTasks(tenantId, app))
      .filter((t) => t.DesiredState === 'running')
      .map((t) => ({
        containerId: t.Status?.ContainerStatus?.ContainerID ?? t.ID, name: `${t.app}.${t.Slot ?? 0}`, app: t.app,
        deploymentId: t.Spec?.ContainerSpec?.Labels?.[LABEL.deployment] ?? '', state: t.Status?.State ?? 'unknown',
        image: (t.Spec?.ContainerSpec?.Image ?? '').replace(/@sha256:.*$/, ''),
        ...(t.Status?.PortStatus?.Ports?.[0]?.PublishedPort ? { hostPort: t.Status.PortStatus.Ports[0].PublishedPort } : {}),
      }));
  }

  private async scale(tenantId: string, app: string, to: (labels: Record<string, string>) => number, force = false): Promise<void> {
    const svc = await this.inspect(tenantId, app);
    if (!svc) return;
    const spec = (svc as unknown as { Spec: Record<string, unknown> & { Labels: Record<string, string>; TaskTemplate: { ForceUpdate?: number } } }).Spec;
    const next = { ...spec, Mode: { Replicated: { Replicas: to(spec.Labels) } },
      TaskTemplate: { ...spec.TaskTemplate, ...(force ? { ForceUpdate: (spec.TaskTemplate.ForceUpdate ?? 0) + 1 } : {}) } };
    await this.docker.getService(svc.ID).update({ ...next, version: svc.Version?.Index });
  }

  restart(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(async () => {
      await progress('restarting the service tasks one at a time');
      await this.scale(tenantId, app, (l) => Number(l[REPLICAS_LABEL] ?? 1), true);
      await sleep(1000);
      return this.tasks(tenantId, app);
    });
  }
  stop(tenantId: string, app: string): Promise<ReplicaInfo[]> {
    return this.guard(async () => { await this.scale(tenantId, app, () => 0); return this.tasks(tenantId, app); });
  }
  start(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(async () => {
      await progress('scaling the service back up');
      await this.scale(tenantId, app, (l) => Number(l[REPLICAS_LABEL] ?? 1));
      return this.tasks(tenantId, app);
    });
  }
  status(tenantId: string, app?: string): Promise<Array<ReplicaInfo & { app: string }>> {
    return this.guard(() => this.tasks(tenantId, app));
  }
  logs(tenantId: string, app: string, lines: number): Promise<string> {
    return this.guard(async () => {
      const svc = await this.inspect(tenantId, app);
      if (!svc) return '';
      const raw = (await this.docker.getService(svc.ID).logs({ stdout: true, stderr: true, tail: Math.max(1, Math.min(lines, 5000)) })) as unknown as Buffer;
      return demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).trimEnd();
    });
  }
  remove(tenantId: string, app?: string): Promise<number> {
    return this.guard(async () => {
      const services = (await this.docker.listServices({ filters: { label: [`${LABEL.tenant}=${tenantId}`, `${LABEL.managed}=1`] } })) as Array<{ ID: string; Spec?: { Labels?: Record<string, string> } }>;
      const mine = services.filter((s) => app === undefined || s.Spec?.Labels?.[LABEL.app] === app);
      for (const s of mine) {
        assertTenant(s.Spec?.Labels, tenantId, `Service ${s.ID}`);
        await this.docker.getService(s.ID).remove().catch(ignoreStatus(404));
      }
      return mine.length;
    });
  }
  ping(): Promise<void> {
    return this.guard(async () => { await this.docker.ping(); });
  }
  async listManaged(): Promise<ManagedReplica[]> {
    return [];
  }
  async removeReplica(): Promise<void> {
    throw new HoistError('invalid_request', 'Swarm replicas are managed by Swarm; scale or remove the service instead.');
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isHoistError(e)) throw e;
      if (isEngineUnreachable(e)) throw unreachable('the Swarm manager', e);
      throw e;
    }
  }
}
