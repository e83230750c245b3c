/**
 * The container-level operations every DockerDeployer path shares: find a tenant's replicas
 * by label (refusing any labelled for another tenant), describe them, stop/retire/remove
 * them, and wait for a set of them to be healthy. Nothing here decides what should run;
 * docker-rollout.ts and docker-lifecycle.ts do, and docker-deployer.ts maps engine errors.
 */
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/errors.ts';
import type { ProgressFn, ReplicaInfo } from './deployer.ts';
import type { DockerDeployerOptions } from './docker-deployer.ts';
import { waitHealthy, type HealthOutcome, type HealthTarget } from './docker-health.ts';
import { containerPortOf, hasHealthcheckConfig, inspectImage } from './docker-objects.ts';
import { LABEL, assertTenant, demuxLogs, ignoreStatus } from './docker-support.ts';

export type DockerSettings = Required<Omit<DockerDeployerOptions, 'targetName' | 'replicaHost'>> & Pick<DockerDeployerOptions, 'targetName' | 'replicaHost'>;
export type AppReplica = ReplicaInfo & { app: string };
export type Healthy = Extract<HealthOutcome, { ok: true }>;

const FAILURE_LOG_LINES = 20;

export async function startContainer(container: Dockerode.Container): Promise<void> {
  // 304: already running, which is what we wanted.
  await container.start().catch(ignoreStatus(304));
}

export class DockerReplicas {
  constructor(readonly docker: Dockerode, readonly s: DockerSettings) {}

  async inspectOwned(tenantId: string, idOrName: string): Promise<Dockerode.ContainerInspectInfo> {
    const info = await this.docker.getContainer(idOrName).inspect();
    assertTenant(info.Config.Labels, tenantId, `Container ${info.Name.replace(/^\//, '')}`);
    return info;
  }

  /** The tenant's managed containers (optionally of one app or deployment), ordered by app, deployment, replica. */
  async listOwned(
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

  fromList(c: Dockerode.ContainerInfo): AppReplica {
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

  /** `before` is inspected before acting on the container, so later crashes show as restarts. */
  async targetFor(
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

  /** Waits for every target; on the first failure throws rollout_unhealthy with that replica's last log lines. */
  async awaitHealthy(app: string, targets: HealthTarget[], progress: ProgressFn): Promise<Healthy[]> {
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
    const ok = outcomes.filter((o): o is Healthy => o.ok);
    for (const o of ok) {
      await progress(`replica ${o.target.replica} healthy${o.hostPort ? ` on :${o.hostPort}` : ''}`);
    }
    return ok;
  }

  async stopContainer(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .stop({ t: this.s.stopTimeoutSec })
      .catch(ignoreStatus(304));
  }

  /** Graceful stop first, so in-flight requests on an old replica can finish. */
  async retireContainer(id: string): Promise<void> {
    await this.stopContainer(id).catch(ignoreStatus(404));
    await this.removeContainer(id);
  }

  async removeContainer(id: string): Promise<void> {
    // 404: already gone; 409: another run is removing it right now. Both end where we want.
    await this.docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(ignoreStatus(404, 409));
  }
}
