/**
 * DockerDeployer against the real engine. One tenant per run, every object labelled with
 * it and removed by label afterwards. Tests run in order and build on each other's state
 * (a rollout history of one app), as a real app's deploys would.
 */
import { randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoistError } from '../../bot/core/errors.ts';
import type { DeploySpec } from '../../workers/deploy/deployer.ts';
import { DockerDeployer, createDockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { networkName } from '../../workers/deploy/docker-support.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';

const docker = new Dockerode();
const tenant = `test-${randomUUID().slice(0, 8)}`;
const otherTenant = `test-other-${randomUUID().slice(0, 8)}`;
const deployer = new DockerDeployer(docker, { healthTimeoutMs: 20_000, stopTimeoutSec: 2 });
const images = { v1: '', v2: '', broken: '', hc: '' };

function spec(deploymentId: string, image: string, extra: Partial<DeploySpec> = {}): DeploySpec {
  return {
    tenantId: tenant,
    app: 'web',
    deploymentId,
    actionId: `act-${deploymentId}`,
    image,
    port: 8080,
    replicas: 1,
    env: { GREETING: 'hello' },
    ...extra,
  };
}

async function get(port: number | undefined): Promise<string> {
  if (!port) throw new Error('no host port');
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

async function rejection(p: Promise<unknown>): Promise<HoistError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HoistError);
  return e as HoistError;
}

async function containersOf(deploymentId: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`hoist.tenant=${tenant}`, `hoist.deployment=${deploymentId}`] },
  });
}

beforeAll(async () => {
  images.v1 = await demoImage(docker, '1');
  images.v2 = await demoImage(docker, '2', { page: 'Hello from Hoist demo 2\n', verbose: true });
  images.broken = await demoImage(docker, 'broken', { broken: true });
  images.hc = await demoImage(docker, 'hc', { healthcheck: true });
});

afterAll(async () => {
  await cleanupTenant(docker, tenant);
  await cleanupTenant(docker, otherTenant);
});

describe('DockerDeployer rollout', () => {
  let firstId = '';

  it('deploys one replica that serves the page on a random loopback port', async () => {
    const lines: string[] = [];
    const result = await deployer.deploy(spec('d1', images.v1), (l) => void lines.push(l));
    expect(result.hostPorts).toHaveLength(1);
    expect(await get(result.hostPorts[0])).toBe('Hello from Hoist demo 1\n');
    expect(lines).toEqual([
      'starting replica 1/1',
      'waiting for health check',
      `replica 1 healthy on :${result.hostPorts[0]}`,
    ]);
    const [replica] = result.replicas;
    expect(replica).toMatchObject({ deploymentId: 'd1', state: 'running', image: images.v1 });
    firstId = replica?.containerId ?? '';
  });

  it('hardens the container and puts it on the tenant network', async () => {
    const info = await docker.getContainer(firstId).inspect();
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    expect(info.HostConfig.PortBindings?.['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '' }]);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([networkName(tenant)]);
    expect(info.Config.Labels).toMatchObject({
      'hoist.tenant': tenant,
      'hoist.app': 'web',
      'hoist.deployment': 'd1',
      'hoist.action': 'act-d1',
      'hoist.replica': '1',
      'hoist.managed': '1',
    });
    expect(info.Config.Env).toContain('GREETING=hello');
    expect(info.Name).toMatch(new RegExp(`^/hoist-test-[a-z0-9-]+-web-d1-1$`));
  });

  it('is idempotent: re-running the same deployment keeps the same containers', async () => {
    const again = await deployer.deploy(spec('d1', images.v1), () => {});
    expect(again.replicas.map((r) => r.containerId)).toEqual([firstId]);
    expect(await get(again.hostPorts[0])).toContain('demo 1');
  });

  it('a re-run recreates a replica of the same deployment that died meanwhile', async () => {
    await docker.getContainer(firstId).stop({ t: 1 });
    const again = await deployer.deploy(spec('d1', images.v1), () => {});
    const [replica] = again.replicas;
    expect(replica?.containerId).not.toBe(firstId);
    expect(replica?.state).toBe('running');
    expect(await get(again.hostPorts[0])).toContain('demo 1');
    expect(await containersOf('d1')).toHaveLength(1);
  });

  it('rolls out a new image and removes the old replica', async () => {
    const lines: string[] = [];
    const result = await deployer.deploy(spec('d2', images.v2), (l) => void lines.push(l));
    expect(await get(result.hostPorts[0])).toBe('Hello from Hoist demo 2\n');
    expect(lines).toContain('removing 1 old replica');
    expect(await containersOf('d1')).toHaveLength(0);
    const status = await deployer.status(tenant, 'web');
    expect(status.map((r) => r.deploymentId)).toEqual(['d2']);
  });

  it('a failing image is rolled back: rollout_unhealthy, old deployment still serves, nothing left over', async () => {
    const e = await rejection(deployer.deploy(spec('d3', images.broken), () => {}));
    expect(e.code).toBe('rollout_unhealthy');
    expect(e.userMessage).toMatch(/^web did not become healthy: replica 1 (exited|keeps crashing)/);
    expect(e.userMessage).toContain('Last log lines:\nboom');
    expect(await containersOf('d3')).toHaveLength(0);
    const [live] = await deployer.status(tenant, 'web');
    expect(live).toMatchObject({ deploymentId: 'd2', state: 'running' });
    expect(await get(live?.hostPort)).toContain('demo 2');
  });

  it('an image that is neither local nor pullable: image_not_found and no container', async () => {
    const lines: string[] = [];
    const e = await rejection(deployer.deploy(spec('d4', 'nonexistent.invalid/nope:1'), (l) => void lines.push(l)));
    expect(e.code).toBe('image_not_found');
    expect(e.userMessage).toMatch(
      /^Image nonexistent\.invalid\/nope:1 is not available locally and could not be pulled: \S/,
    );
    expect(e.userMessage).not.toMatch(/HTTP code/);
    expect(lines).toEqual(['pulling image nonexistent.invalid/nope:1']);
    expect(await containersOf('d4')).toHaveLength(0);
  });

  it('a malformed spec is invalid_request before anything is touched', async () => {
    const e = await rejection(deployer.deploy(spec('bad id!', images.v1, { app: 'Bad_App', replicas: 0 }), () => {}));
    expect(e.code).toBe('invalid_request');
    expect(e.userMessage).toContain('app name "Bad_App" is not valid');
    expect(e.userMessage).toContain('replicas must be between 1 and 20');
  });

  it('scales to two replicas, each serving on its own port', async () => {
    const result = await deployer.deploy(spec('d5', images.v2, { replicas: 2 }), () => {});
    expect(result.hostPorts).toHaveLength(2);
    expect(new Set(result.hostPorts).size).toBe(2);
    for (const port of result.hostPorts) expect(await get(port)).toContain('demo 2');
    const status = await deployer.status(tenant);
    expect(status).toHaveLength(2);
    for (const r of status) {
      expect(r).toMatchObject({ app: 'web', deploymentId: 'd5', state: 'running', image: images.v2 });
      expect(result.hostPorts).toContain(r.hostPort);
    }
  });

  it('logs combine the replicas, oldest first', async () => {
    const logs = await deployer.logs(tenant, 'web', 50);
    expect(logs).toMatch(/^\[r1\] .*response:200$/m);
    expect(logs).toMatch(/^\[r2\] .*response:200$/m);
    expect((await deployer.logs(tenant, 'web', 1)).split('\n')).toHaveLength(1);
  });

  it('stop, start and restart', async () => {
    const stopped = await deployer.stop(tenant, 'web');
    expect(stopped.map((r) => r.state)).toEqual(['exited', 'exited']);

    const lines: string[] = [];
    const started = await deployer.start(tenant, 'web', (l) => void lines.push(l));
    expect(started.map((r) => r.state)).toEqual(['running', 'running']);
    expect(lines).toContain('waiting for health check');
    for (const r of started) expect(await get(r.hostPort)).toContain('demo 2');

    const before = await docker.getContainer(started[0]?.containerId ?? '').inspect();
    const restarted = await deployer.restart(tenant, 'web', () => {});
    const after = await docker.getContainer(started[0]?.containerId ?? '').inspect();
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    for (const r of restarted) expect(await get(r.hostPort)).toContain('demo 2');
  });

  it('uses the image HEALTHCHECK when there is one', async () => {
    const result = await deployer.deploy(spec('h1', images.hc, { app: 'checked' }), () => {});
    expect(result.replicas[0]?.health).toBe('healthy');
    expect(await get(result.hostPorts[0])).toContain('demo hc');
  });

  it('without a port, a replica that keeps running is healthy', async () => {
    const result = await deployer.deploy(spec('q1', images.v1, { app: 'quiet', port: undefined }), () => {});
    expect(result.hostPorts).toEqual([]);
    expect(result.replicas[0]?.state).toBe('running');
  });
});

describe('DockerDeployer tenant isolation', () => {
  it("another tenant neither sees nor touches this tenant's containers", async () => {
    expect(await deployer.status(otherTenant)).toEqual([]);
    expect(await deployer.stop(otherTenant, 'web')).toEqual([]);
    expect(await deployer.remove(otherTenant)).toBe(0);
    const mine = await deployer.status(tenant, 'web');
    expect(mine.map((r) => r.state)).toEqual(['running', 'running']);
  });

  it('a container fetched by id for the wrong tenant is refused with tenant_mismatch', async () => {
    const [mine] = await deployer.status(tenant, 'web');
    const id = mine?.containerId ?? '';
    expect((await deployer.replica(tenant, id)).app).toBe('web');
    const e = await rejection(deployer.replica(otherTenant, id));
    expect(e.code).toBe('tenant_mismatch');
    const byName = await rejection(deployer.replica(otherTenant, mine?.name ?? ''));
    expect(byName.code).toBe('tenant_mismatch');
  });
});

describe('DockerDeployer engine and cleanup', () => {
  it('an unreachable engine is docker_unreachable and retryable', async () => {
    const dead = new DockerDeployer(new Dockerode({ socketPath: '/nonexistent.sock' }), {
      dockerHostLabel: 'unix:///nonexistent.sock',
    });
    const e = await rejection(dead.ping());
    expect(e).toMatchObject({ code: 'docker_unreachable', retryable: true });
    expect(e.userMessage).toBe('Docker engine not reachable at unix:///nonexistent.sock');
    expect((await rejection(dead.deploy(spec('x1', images.v1), () => {}))).code).toBe('docker_unreachable');
    expect((await rejection(dead.status(tenant))).code).toBe('docker_unreachable');

    const tcp = createDockerDeployer({ dockerHost: 'tcp://127.0.0.1:1' });
    expect(await rejection(tcp.ping())).toMatchObject({
      code: 'docker_unreachable',
      userMessage: 'Docker engine not reachable at tcp://127.0.0.1:1',
    });
    await expect(createDockerDeployer().ping()).resolves.toBeUndefined();
  });

  it('remove(tenant, app) removes that app; remove(tenant) removes the rest and the network', async () => {
    expect(await deployer.remove(tenant, 'quiet')).toBe(1);
    expect(await deployer.remove(tenant)).toBe(3);
    expect(await deployer.status(tenant)).toEqual([]);
    const nets = await docker.listNetworks({ filters: { label: [`hoist.tenant=${tenant}`] } });
    expect(nets).toEqual([]);
  });
});
