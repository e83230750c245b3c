/**
 * One rollout per app at a time: two real BullMQ workers on the same queue, two approved
 * deploys of one app → both succeed, their rollouts never overlap. And a change that would
 * wait longer than the bound fails with a clear sentence instead of waiting forever.
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { startWorkers } from '../../workers/main.ts';
import type { Deployer, DeploySpec, ProgressFn } from '../../workers/deploy/deployer.ts';
import { DockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';

const docker = new Dockerode();
const intervals: Array<{ app: string; dep: string; start: number; end: number }> = [];

/** The real deployer, recording when each rollout starts and ends. */
function recording(inner: DockerDeployer): Deployer {
  return new Proxy(inner, {
    get(target, prop, recv) {
      if (prop !== 'deploy') return Reflect.get(target, prop, recv) as unknown;
      return async (spec: DeploySpec, progress: ProgressFn) => {
        const start = Date.now();
        try {
          return await target.deploy(spec, progress);
        } finally {
          intervals.push({ app: spec.app, dep: spec.deploymentId, start, end: Date.now() });
        }
      };
    },
  });
}

let h: Awaited<ReturnType<typeof startHarness>>;
let second: Awaited<ReturnType<typeof startWorkers>>;

beforeAll(async () => {
  await demoImage(docker, '1');
  await demoImage(docker, '2', { page: 'Hello from Hoist demo 2\n', verbose: true });
  const deployer = recording(new DockerDeployer(docker, { healthTimeoutMs: 20_000, stopTimeoutSec: 1 }));
  h = await startHarness({ deployer });
  second = await startWorkers({
    config: parseConfig({ LOG_LEVEL: 'silent' }, 'cli'),
    services: h.services, logger: createLogger({ level: 'silent' }), clock: h.clock, prefix: h.prefix, deployer,
    lease: { retryMs: 300 }, reconcile: false, proxy: false,
  });
});
afterAll(async () => {
  await second?.close();
  await h?.stop();
});

describe('rollout lease', () => {
  it('two workers, two approved deploys of one app → one rollout at a time, both succeed', async () => {
    const a = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080');
    const b = await h.propose('alice', 'deploy web image hoist-demo/httpd:2 port 8080');
    const c = await h.propose('alice', 'deploy other image hoist-demo/httpd:1 port 8080');
    await Promise.all([h.decide('bob', 'approve', a), h.decide('bob', 'approve', b), h.decide('bob', 'approve', c)]);
    for (const id of [a, b, c]) await h.chat.waitFor(new RegExp(`✅ .*deployment dep-${id.slice(4)}`), 90_000);
    const web = intervals.filter((i) => i.app === 'web').sort((x, y) => x.start - y.start);
    expect(web).toHaveLength(2);
    expect(web[1]!.start).toBeGreaterThanOrEqual(web[0]!.end);
    // The one that waited said so in its thread.
    expect(h.chat.all()).toMatch(/Waiting: another change to web \(act-[a-z0-9]+\) is in progress/);
    // Another app is not held up by web's lease.
    const other = intervals.find((i) => i.app === 'other')!;
    expect(other.start).toBeLessThan(web[1]!.end);
    const running = (await h.containers()).filter((x) => x.Labels['hoist.app'] === 'web');
    expect(running).toHaveLength(1);
    expect(await new DeployRepo(h.fx.dbh.db).leasedApps()).toEqual([]);
  });

  it('a change that waits longer than the bound fails with a clear sentence', async () => {
    const repo = new DeployRepo(h.fx.dbh.db);
    // A live holder that never finishes: a rollout stuck on another worker.
    const stuck = await h.bot.store.createAction({
      id: 'act-stuckholder', tenantId: h.tenantId, kind: 'deploy', app: 'web', params: {}, requestedBy: 'console:x',
      status: 'running', conversation: { platform: 'console', tenantId: h.tenantId, channelId: 'test' }, expiresAt: new Date(),
    });
    expect(await repo.acquireLease(h.tenantId, 'web', stuck.id, 60_000)).toEqual({ acquired: true });
    const id = await h.propose('alice', 'restart web');
    h.clock.offsetMs = -11 * 60_000; // approved "11 minutes ago" as far as the wait bound is concerned
    await h.decide('bob', 'approve', id).finally(() => { h.clock.offsetMs = 0; });
    await h.chat.waitFor(/❌ Not started: another change to web \(act-stuckholder\) was still running after 10 minutes of waiting/, 30_000);
    expect((await h.bot.store.getAction(id))?.status).toBe('failed');
    await repo.releaseLease(h.tenantId, 'web', stuck.id);
  });

  it('a tenant registry allowlist refuses other registries at proposal time', async () => {
    const repo = new DeployRepo(h.fx.dbh.db);
    await repo.setTenantSetting(h.tenantId, 'registries', ['allowed.invalid']);
    try {
      const before = h.chat.said.length;
      await h.say('alice', 'deploy api image other.invalid/team/api:1 port 80');
      await h.chat.waitFor(/Images from other\.invalid are not allowed in this workspace; an admin can add that registry to the allowlist/);
      expect(h.chat.said.slice(before).some((x) => x.msg?.kind === 'card')).toBe(false);
      const ok = await h.propose('alice', 'deploy api image allowed.invalid/team/api:1 port 80');
      await h.decide('alice', 'cancel', ok);
      // A hostless reference names a local image: always allowed to propose.
      const local = await h.propose('alice', 'deploy api image hoist-demo/httpd:1 port 8080');
      await h.decide('alice', 'cancel', local);
    } finally {
      await repo.setTenantSetting(h.tenantId, 'registries', null);
    }
  });
});
