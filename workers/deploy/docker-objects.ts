/**
 * The engine objects a rollout needs before any replica runs: the image (pulled at most
 * once), the tenant's network, and the hardened create options of one replica. Also
 * spec validation, since names built from the spec become Docker object names.
 */
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/errors.ts';
import { APP_NAME } from '../contract/index.ts';
import type { DeploySpec, ProgressFn, ReplicaInfo } from './deployer.ts';
import {
  LABEL,
  assertTenant,
  containerName,
  engineReason,
  ignoreStatus,
  isEngineUnreachable,
  networkName,
} from './docker-support.ts';

export interface ReplicaLimits {
  publishAddress: string;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
}

const DEPLOYMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_REPLICAS = 20;

export function validateSpec(spec: DeploySpec): void {
  const problems: string[] = [];
  if (!spec.tenantId) problems.push('tenant id is empty');
  if (!APP_NAME.test(spec.app)) problems.push(`app name "${spec.app}" is not valid`);
  if (!DEPLOYMENT_ID.test(spec.deploymentId)) problems.push(`deployment id "${spec.deploymentId}" is not valid`);
  if (!spec.image || /\s/.test(spec.image) || spec.image.length > 255) problems.push('image reference is not valid');
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1 || spec.replicas > MAX_REPLICAS) {
    problems.push(`replicas must be between 1 and ${MAX_REPLICAS}`);
  }
  if (spec.port !== undefined && (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535)) {
    problems.push('port must be between 1 and 65535');
  }
  // Keys only: values are secrets and never go into a message.
  const badKeys = Object.keys(spec.env).filter((k) => !ENV_KEY.test(k));
  if (badKeys.length > 0) problems.push(`invalid environment variable name(s): ${badKeys.join(', ')}`);
  if (problems.length > 0) throw new HoistError('invalid_request', `Cannot deploy: ${problems.join('; ')}.`);
}

export function inspectImage(docker: Dockerode, ref: string): Promise<Dockerode.ImageInspectInfo | undefined> {
  return docker.getImage(ref).inspect().catch(ignoreStatus(404));
}

export function hasHealthcheckConfig(info: Dockerode.ImageInspectInfo | undefined): boolean {
  const test = info?.Config?.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
}

/** Returns whether the image defines a HEALTHCHECK; pulls once when it is not present. */
export async function ensureImage(
  docker: Dockerode,
  ref: string,
  progress: ProgressFn,
  pullTimeoutMs: number,
  pull = true,
): Promise<boolean> {
  const local = await inspectImage(docker, ref);
  if (local) return hasHealthcheckConfig(local);
  if (!pull) {
    throw new HoistError('image_not_found', `Image ${ref} is not on the Docker engine, and this workspace does not allow pulling it from its registry.`);
  }
  await progress(`pulling image ${ref}`);
  try {
    const stream = await docker.pull(ref, { abortSignal: AbortSignal.timeout(pullTimeoutMs) });
    const events = await new Promise<unknown[]>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out)));
    });
    // A pull can answer 200 and report its failure inside the stream.
    const streamed = events.find((ev): ev is { error: unknown } => !!ev && typeof ev === 'object' && 'error' in ev);
    if (streamed) throw new Error(String(streamed.error));
    const pulled = await inspectImage(docker, ref);
    if (!pulled) throw new Error('the pull finished but the image is still missing');
    return hasHealthcheckConfig(pulled);
  } catch (e) {
    if (isEngineUnreachable(e)) throw e;
    throw new HoistError(
      'image_not_found',
      `Image ${ref} is not available locally and could not be pulled: ${engineReason(e)}`,
      { cause: e },
    );
  }
}

/**
 * Finds or creates the tenant's bridge network and returns its id. Docker's CheckDuplicate
 * is best effort: concurrent creators (other workers) can still end up with two networks
 * of one name, and a container on either then fails to start ("network is ambiguous").
 * Every caller keeps the oldest and removes the rest, so all of them converge on one.
 */
export async function resolveTenantNetwork(docker: Dockerode, tenantId: string): Promise<string> {
  const name = networkName(tenantId);
  // The name filter matches substrings, hence the exact comparison.
  const find = async () =>
    (await docker.listNetworks({ filters: { name: [name] } }))
      .filter((n) => n.Name === name)
      .sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || (a.Id < b.Id ? -1 : 1));
  let nets = await find();
  if (nets.length === 0) {
    await docker
      .createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABEL.tenant]: tenantId, [LABEL.managed]: '1' },
      })
      .catch(ignoreStatus(409));
    nets = await find();
  }
  const [keep, ...duplicates] = nets;
  if (!keep) throw new Error(`network ${name} vanished right after it was created`);
  for (const n of nets) assertTenant(n.Labels, tenantId, `Network ${name}`);
  for (const dup of duplicates) await docker.getNetwork(dup.Id).remove().catch(ignoreStatus(404));
  return keep.Id;
}

export async function removeTenantNetworks(docker: Dockerode, tenantId: string): Promise<void> {
  const nets = await docker.listNetworks({ filters: { label: [`${LABEL.tenant}=${tenantId}`, `${LABEL.managed}=1`] } });
  for (const n of nets) {
    assertTenant(n.Labels, tenantId, `Network ${n.Name}`);
    await docker.getNetwork(n.Id).remove().catch(ignoreStatus(404));
  }
}

export function replicaCreateOptions(
  spec: DeploySpec,
  replica: number,
  networkId: string,
  limits: ReplicaLimits,
): Dockerode.ContainerCreateOptions {
  const portKey = spec.port ? `${spec.port}/tcp` : undefined;
  return {
    name: containerName(spec.tenantId, spec.app, spec.deploymentId, replica),
    Image: spec.image,
    Labels: {
      [LABEL.tenant]: spec.tenantId,
      [LABEL.app]: spec.app,
      [LABEL.deployment]: spec.deploymentId,
      [LABEL.action]: spec.actionId,
      [LABEL.replica]: String(replica),
      [LABEL.managed]: '1',
    },
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: portKey ? { [portKey]: {} } : undefined,
    HostConfig: {
      NetworkMode: networkId,
      PortBindings: portKey ? { [portKey]: [{ HostIp: limits.publishAddress, HostPort: '' }] } : undefined,
      Memory: limits.memoryBytes,
      // Equal to Memory: no swap on top, so the limit means what it says.
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      PidsLimit: limits.pidsLimit,
      RestartPolicy: { Name: 'unless-stopped' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      Binds: [],
      // An init as PID 1 forwards SIGTERM (most apps ignore it as PID 1) and reaps zombies.
      Init: true,
      // Bounded per replica, so a chatty app cannot fill the host disk.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

/** The container port a replica was created with (its first published tcp port). */
export function containerPortOf(info: Dockerode.ContainerInspectInfo): number | undefined {
  const bound = Object.keys(info.HostConfig.PortBindings ?? {}).find((k) => k.endsWith('/tcp'));
  return bound ? Number(bound.split('/')[0]) : undefined;
}

export function replicaFromInspect(info: Dockerode.ContainerInspectInfo, hostPort: number | undefined): ReplicaInfo {
  const labels = info.Config.Labels ?? {};
  const health = info.State.Health?.Status;
  return {
    containerId: info.Id,
    name: info.Name.replace(/^\//, ''),
    deploymentId: labels[LABEL.deployment] ?? '',
    state: info.State.Status,
    ...(health ? { health } : {}),
    ...(hostPort ? { hostPort } : {}),
    image: info.Config.Image,
  };
}
