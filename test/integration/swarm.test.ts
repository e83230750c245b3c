/**
 * SwarmDeployer on a single-node swarm (`docker swarm init`, left in teardown): create a
 * service, a start-first rolling update to a new image, and an update to a broken image that
 * Swarm rolls back by itself while the old version keeps serving.
 */
import { execFileSync } from 'node:child_process';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoistError } from '../../workers/contract/index.ts';
import type { DeploySpec } from '../../workers/deploy/deployer.ts';
import { SwarmDeployer } from '../../workers/deploy/swarm-deployer.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { uid } from '../fixtures/services.ts';

const docker = new Dockerode();
const tenant = uid('swarm-');
const swarm = new SwarmDeployer(docker, { monitorMs: 3000, timeoutMs: 90_000 });
let joinedHere = false;

const spec = (deploymentId: string, image: string): DeploySpec => ({
  tenantId: tenant, app: 'web', deploymentId, actionId: `act-${deploymentId}`, image, port: 8080, replicas: 1, env: {},
});

async function get(port: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) })).text();
    } catch (e) {
      if (i > 20) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

beforeAll(async () => {
  const info = await docker.info() as { Swarm?: { LocalNodeState?: string } };
  if (info.Swarm?.LocalNodeState !== 'active') {
    execFileSync('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    joinedHere = true;
  }
  await demoImage(docker, '1');
  await demoImage(docker, '2', { page: 'Hello from Hoist demo 2\n' });
  await demoImage(docker, 'broken', { broken: true });
});
afterAll(async () => {
  await swarm.remove(tenant).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  await cleanupTenant(docker, tenant);
  if (joinedHere) execFileSync('docker', ['swarm', 'leave', '--force']);
});

describe('SwarmDeployer', () => {
  let port = 0;
  it('creates the hardened service with start-first updates and automatic rollback', async () => {
    const res = await swarm.deploy(spec('s1', 'hoist-demo/httpd:1'), () => undefined);
    port = res.hostPorts[0]!;
    expect(port).toBeGreaterThan(0);
    expect(await get(port)).toContain('demo 1');
    const [svc] = await docker.listServices({ filters: { label: [`hoist.tenant=${tenant}`] } });
    const s = svc as unknown as { Spec: { UpdateConfig: Record<string, unknown>; RollbackConfig: Record<string, unknown>; TaskTemplate: { ContainerSpec: { CapabilityDrop?: string[] } } } };
    expect(s.Spec.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback' });
    expect(s.Spec.RollbackConfig).toMatchObject({ Order: 'start-first' });
    expect(s.Spec.TaskTemplate.ContainerSpec.CapabilityDrop).toEqual(['ALL']);
  });

  it('rolling update to a new image', async () => {
    const lines: string[] = [];
    const res = await swarm.deploy(spec('s2', 'hoist-demo/httpd:2'), (l) => void lines.push(l));
    expect(lines.join('\n')).toMatch(/swarm: (updating|completed)/);
    port = res.hostPorts[0]!;
    expect(await get(port)).toContain('demo 2');
    expect((await swarm.status(tenant, 'web')).map((r) => r.deploymentId)).toEqual(['s2']);
  });

  it('a broken image is rolled back automatically; the old version keeps serving', async () => {
    const e = await swarm.deploy(spec('s3', 'hoist-demo/httpd:broken'), () => undefined).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(HoistError);
    expect((e as HoistError).code).toBe('rollout_unhealthy');
    expect((e as HoistError).userMessage).toMatch(/Swarm rolled it back/);
    // Ports are published per task here (no routing mesh in this sandbox): when the rollback
    // replaces the task, the old version may come back on a new port — ask status where.
    let page = '';
    for (let i = 0; i < 30 && !page.includes('demo 2'); i++) {
      const live = (await swarm.status(tenant, 'web')).filter((r) => r.state === 'running' && r.hostPort);
      for (const r of live) page = await get(r.hostPort!).catch(() => '');
      if (!page.includes('demo 2')) await new Promise((r) => setTimeout(r, 500));
    }
    expect(page).toContain('demo 2');
    expect((await swarm.status(tenant, 'web')).filter((r) => r.state === 'running').every((r) => r.deploymentId === 's2')).toBe(true);
  });
});
