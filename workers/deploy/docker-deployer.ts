/**
 * Deployer on a single Docker engine (dockerode). Each tenant gets its own bridge network;
 * each replica is a hardened container named and labelled after tenant, app, deployment
 * and replica index, so every call rediscovers state from labels and a re-run converges.
 * A rollout starts the new replicas next to the old ones, gates on health, and only then
 * removes the old deployment; a failed rollout removes its own containers instead
 * (docker-rollout.ts). Restart, stop, start, status, logs and removal act on what runs
 * (docker-lifecycle.ts); both share the container primitives of docker-replicas.ts. This
 * class resolves the settings and turns an unreachable engine into docker_unreachable.
 */
import Dockerode from 'dockerode';
import { isHoistError } from '../contract/errors.ts';
import { noCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { Deployer, DeployHooks, DeployResult, DeploySpec, ManagedReplica, ProgressFn, ReplicaInfo } from './deployer.ts';
import { listManaged, logsOf, removeApp, removeReplica, replicaOf, restartApp, startApp, statusOf, stopApp } from './docker-lifecycle.ts';
import { DockerReplicas, type AppReplica, type DockerSettings } from './docker-replicas.ts';
import { DockerRollout } from './docker-rollout.ts';
import { describeDockerHost, dockerOptionsFor, isEngineUnreachable, unreachable } from './docker-support.ts';

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

export class DockerDeployer implements Deployer {
  private readonly s: DockerSettings;
  private readonly r: DockerReplicas;
  private readonly rollout: DockerRollout;

  constructor(
    docker: Dockerode,
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
    this.r = new DockerReplicas(docker, this.s);
    this.rollout = new DockerRollout(this.r);
  }

  deploy(spec: DeploySpec, progress: ProgressFn, hooks: DeployHooks = {}): Promise<DeployResult> {
    return this.guard(() => this.rollout.run(spec, progress, hooks));
  }

  restart(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(() => restartApp(this.r, tenantId, app, progress));
  }

  stop(tenantId: string, app: string): Promise<ReplicaInfo[]> {
    return this.guard(() => stopApp(this.r, tenantId, app));
  }

  start(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]> {
    return this.guard(() => startApp(this.r, tenantId, app, progress));
  }

  status(tenantId: string, app?: string): Promise<AppReplica[]> {
    return this.guard(() => statusOf(this.r, tenantId, app));
  }

  logs(tenantId: string, app: string, lines: number): Promise<string> {
    return this.guard(() => logsOf(this.r, tenantId, app, lines));
  }

  remove(tenantId: string, app?: string): Promise<number> {
    return this.guard(() => removeApp(this.r, tenantId, app));
  }

  ping(): Promise<void> {
    return this.guard(async () => {
      await this.r.docker.ping();
    });
  }

  listManaged(): Promise<ManagedReplica[]> {
    return this.guard(() => listManaged(this.r));
  }

  removeReplica(tenantId: string, containerId: string): Promise<void> {
    return this.guard(() => removeReplica(this.r, tenantId, containerId));
  }

  /** One replica by container id or name, refused unless it belongs to `tenantId`. */
  replica(tenantId: string, idOrName: string): Promise<AppReplica> {
    return this.guard(() => replicaOf(this.r, tenantId, idOrName));
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
