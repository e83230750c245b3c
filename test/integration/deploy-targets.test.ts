/**
 * Named Docker targets (HOIST_TARGETS=<name>=<docker host>): two names that both point at
 * the local engine, told apart by the `hoist.target` label. An app lands on the target named
 * like its environment, or on its own `target` setting; others stay on the default engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { startWorkers } from '../../workers/main.ts';
import { targetDockerOptions } from '../../workers/deploy/targets.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';
import { TEST_REDIS_URL } from '../fixtures/services.ts';

const local = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
let h: Awaited<ReturnType<typeof startHarness>>;
let workers: Awaited<ReturnType<typeof startWorkers>>;

beforeAll(async () => {
  h = await startHarness({ workers: false });
  await demoImage(h.docker, '1');
  await demoImage(h.docker, '2');
  const config = parseConfig({
    DATABASE_URL: h.fx.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent',
    HOIST_TARGETS: `edge=${local},staging=${local}`,
  }, 'cli');
  workers = await startWorkers({ config, services: h.services, logger: createLogger({ level: 'silent' }), clock: h.clock, prefix: h.prefix });
});
afterAll(async () => {
  await workers?.close();
  await h?.stop();
});

const targetOf = async (app: string) =>
  (await h.containers()).filter((c) => c.Labels['hoist.app'] === app).map((c) => c.Labels['hoist.target'] ?? 'default');

async function deploy(text: string, app: string) {
  const id = await h.propose('alice', text);
  await h.decide('alice', 'approve', id);
  const m = await h.chat.waitFor(new RegExp(`✅ ${app} is running on :(\\d+) .*dep-${id.slice(4)}`), 60_000);
  expect(await (await fetch(`http://127.0.0.1:${m[1]}/`)).text()).toMatch(/Hello from Hoist/);
}

describe('named Docker targets', () => {
  it('an app of environment "edge" lands on the edge target, one of "staging" on staging, others on the default engine', async () => {
    await deploy('deploy web image hoist-demo/httpd:1 port 8080 to edge', 'web');
    await deploy('deploy api image hoist-demo/httpd:1 port 8080 to staging', 'api');
    await deploy('deploy plain image hoist-demo/httpd:1 port 8080', 'plain');
    expect(await targetOf('web')).toEqual(['edge']);
    expect(await targetOf('api')).toEqual(['staging']);
    expect(await targetOf('plain')).toEqual(['default']);
    await h.say('alice', 'status web');
    await h.chat.waitFor(/Status of web:\n\s+web .*running/, 30_000);
  });

  it("an app's own target setting moves it there on its next deploy", async () => {
    await new DeployRepo(h.fx.dbh.db).patchAppSettings(h.tenantId, 'plain', { target: 'staging' });
    await deploy('deploy plain 2', 'plain');
    expect(await targetOf('plain')).toEqual(['staging']);
  });

  it('each target watches only its own replicas (the reconciler does not see them twice)', async () => {
    const edge = await workers.deployer.listManaged();
    expect(edge.filter((r) => r.tenantId === h.tenantId).map((r) => r.app)).toEqual([]);
  });

  it('reads TLS material for a tcp target from ?certs=<dir>, and refuses a missing directory with a sentence', () => {
    expect(targetDockerOptions('tcp://10.0.0.5:2375')).toEqual({ options: { host: '10.0.0.5', port: 2375, protocol: 'http' }, remoteHost: '10.0.0.5' });
    expect(() => targetDockerOptions('tcp://10.0.0.5:2376?certs=/nonexistent')).toThrow(/cannot read ca\.pem, cert\.pem and key\.pem in \/nonexistent/);
  });
});
