/**
 * The health-gated rollout of one deployment on a single Docker engine. In order: the image
 * (pulled unless local), the tenant's network and the deployment's existing replicas are
 * looked up together; replicas 1..n are created and started next to the old deployment (a
 * re-run keeps what already runs); all must turn healthy; traffic switches (hooks.switchTo);
 * only then is the old deployment retired. Before the switch a failure removes only this
 * deployment's containers; after it the new replicas stay, whatever failed later. A repair
 * (hooks.repair, the reconciler) re-runs this for the current deployment: missing replicas
 * are created, and a failure removes only those.
 */
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/errors.ts';
import type { DeployHooks, DeployResult, DeploySpec, ProgressFn } from './deployer.ts';
import type { HealthTarget } from './docker-health.ts';
import { ensureImage, replicaCreateOptions, replicaFromInspect, resolveTenantNetwork, validateSpec } from './docker-objects.ts';
import { startContainer, type DockerReplicas } from './docker-replicas.ts';
import { LABEL, statusCodeOf } from './docker-support.ts';

export class DockerRollout {
  private readonly networksInFlight = new Map<string, Promise<string>>();

  constructor(private readonly r: DockerReplicas) {}

  async run(spec: DeploySpec, progress: ProgressFn, hooks: DeployHooks): Promise<DeployResult> {
    const { r } = this;
    validateSpec(spec);
    // Independent engine calls, so they go together (each is a round trip on the approve-to-healthy path).
    const [hasHealthcheck, networkId, ofApp] = await Promise.all([
      ensureImage(r.docker, spec.image, progress, r.s.pullTimeoutMs, spec.pull ?? true),
      this.ensureNetwork(spec.tenantId),
      r.listOwned(spec.tenantId, { app: spec.app }),
    ]);
    // One listing serves both: this deployment's replicas (a re-run keeps them) and the old
    // ones to retire after the switch (the app's lease keeps anyone else from adding more).
    const existing = ofApp.filter((c) => c.Labels[LABEL.deployment] === spec.deploymentId);
    const old = ofApp.filter((c) => c.Labels[LABEL.deployment] !== spec.deploymentId);
    let switched = false;
    const created: string[] = [];
    try {
      const targets: HealthTarget[] = [];
      for (let i = 1; i <= spec.replicas; i++) {
        await progress(`starting replica ${i}/${spec.replicas}`);
        const found = existing.find((c) => c.Labels[LABEL.replica] === String(i));
        if (found?.State === 'running' || found?.State === 'created') {
          // A re-run after a crash keeps what already runs (or never ran); health is still checked below.
          const container = r.docker.getContainer(found.Id);
          if (found.State === 'created') await startContainer(container);
          targets.push({ ...(await r.targetFor(container, found, await container.inspect(), hasHealthcheck, spec.port)), healthPath: spec.healthPath });
          continue;
        }
        if (found) await r.removeContainer(found.Id);
        const container = await this.createReplica(spec, i, networkId);
        created.push(container.id);
        await r.s.checkpoint('after-create');
        await startContainer(container);
        targets.push({ container, replica: i, port: spec.port, hasHealthcheck, restartsBefore: 0, healthPath: spec.healthPath });
      }
      const surplus = existing.filter((c) => Number(c.Labels[LABEL.replica]) > spec.replicas);
      await Promise.all(surplus.map((c) => r.removeContainer(c.Id)));

      const healthy = await r.awaitHealthy(spec.app, targets, progress);
      const replicas = healthy.map((h) => replicaFromInspect(h.info, h.hostPort));
      const result: DeployResult = {
        replicas,
        hostPorts: healthy.flatMap((h) => (h.hostPort ? [h.hostPort] : [])),
        ...(r.s.replicaHost ? { replicaHost: r.s.replicaHost } : {}),
      };
      // Traffic moves before anything old stops: the endpoint never points at a stopping replica.
      await hooks.switchTo?.(result);
      switched = true;
      if (hooks.repair) return result;
      if (old.length > 0) {
        await progress(`removing ${old.length} old replica${old.length === 1 ? '' : 's'}`);
        await Promise.all(old.map((c) => r.retireContainer(c.Id)));
      }
      return result;
    } catch (e) {
      // After the switch the new replicas are what serves: they stay, whatever failed later.
      if (switched) throw e;
      // A repair removes only what it created: the replicas that were serving keep serving.
      if (hooks.repair) {
        await Promise.all(created.map((id) => r.removeContainer(id)));
        throw e;
      }
      // Only this deployment's containers go; the previous deployment keeps serving.
      const mine = await r.listOwned(spec.tenantId, { app: spec.app, deployment: spec.deploymentId });
      await Promise.all(mine.map((c) => r.removeContainer(c.Id)));
      throw e;
    }
  }

  /** Returns the network id; concurrent callers in this process share one creation. */
  private ensureNetwork(tenantId: string): Promise<string> {
    const pending = this.networksInFlight.get(tenantId);
    if (pending) return pending;
    const created = resolveTenantNetwork(this.r.docker, tenantId).finally(() => this.networksInFlight.delete(tenantId));
    this.networksInFlight.set(tenantId, created);
    return created;
  }

  private async createReplica(spec: DeploySpec, replica: number, networkId: string): Promise<Dockerode.Container> {
    const options = replicaCreateOptions(spec, replica, networkId, this.r.s);
    if (this.r.s.targetName) options.Labels = { ...options.Labels, [LABEL.target]: this.r.s.targetName };
    try {
      return await this.r.docker.createContainer(options);
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
      return this.r.docker.getContainer(info.Id);
    }
  }

  /** Docker reserves a name before the container exists, so a conflicting name can briefly inspect as 404. */
  private async inspectConflicting(tenantId: string, name: string): Promise<Dockerode.ContainerInspectInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.r.inspectOwned(tenantId, name);
      } catch (e) {
        if (statusCodeOf(e) !== 404 || attempt >= 20) throw e;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
