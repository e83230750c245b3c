/**
 * Named Docker targets (HOIST_TARGETS=<name>=<docker host>): two names that both point at
 * the local engine, told apart by the `hoist.target` label. An app lands on the target named
 * like its environment, or on its own `target` setting (chosen in chat with `deploy … on
 * <target>`, shown on the card, kept for later deploys); others stay on the default engine.
 * An unknown target name is refused with the known ones listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { Store } from '../../db/repo.ts';
import { cardFor, resolveAction } from '../../bot/pipeline/confirm.ts';
import { isHoistError, targetNames } from '../../workers/contract/index.ts';
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

  it('"deploy <app> … on <target>" from chat: the card names the target, the app moves there and stays on it', async () => {
    const before = h.chat.said.length;
    const id = await h.propose('alice', 'deploy chatty image hoist-demo/httpd:1 port 8080 on edge');
    expect(h.chat.said.slice(before).map((s) => s.text).join('\n')).toMatch(/CARD Deploy chatty .*\| target: edge \(kept for later deploys\)/);
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(new RegExp(`✅ chatty is running on :\\d+ .*dep-${id.slice(4)}`), 60_000);
    expect(await targetOf('chatty')).toEqual(['edge']);
    // A later deploy without "on" stays on the app's target, and the card says where.
    const again = await h.propose('alice', 'deploy chatty 2');
    expect(h.chat.said.at(-1)?.text).toMatch(/\| target: edge$/);
    await h.decide('alice', 'approve', again);
    await h.chat.waitFor(new RegExp(`✅ chatty is running on :\\d+ .*dep-${again.slice(4)}`), 60_000);
    expect(await targetOf('chatty')).toEqual(['edge']);
    // "on default" brings it back to the default engine.
    await deploy('deploy chatty on default', 'chatty');
    expect(await targetOf('chatty')).toEqual(['default']);
  });

  it('an unknown target is refused with the known ones listed: at proposal time when the bot knows them, else by the workers', async () => {
    const known = targetNames([`edge=${local}`, `staging=${local}`, 'production=swarm']);
    expect(known).toEqual(['edge', 'staging', 'production', 'swarm']);
    const store = new Store(h.fx.dbh.db);
    const err = await resolveAction(store, h.tenantId, { action: 'deploy', app: 'web', target: 'moon' }, { targets: known }).catch((e: unknown) => e);
    expect(isHoistError(err) && err.code).toBe('unknown_target');
    expect((err as Error).message).toBe('There is no deploy target "moon"; known targets: default, edge, staging, production, swarm (HOIST_TARGETS).');
    // With the targets known, the card names where an app without a target setting runs.
    const r = await resolveAction(store, h.tenantId, { action: 'deploy', app: 'api', image: ':2' }, { targets: known });
    expect(cardFor({ id: 'act-x', kind: 'deploy', requestedBy: 'alice', expiresAt: new Date() }, r).details).toContain('target: staging');

    const id = await h.propose('alice', 'deploy web on moon');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/❌ There is no deploy target "moon"; known targets: default, edge, staging \(HOIST_TARGETS\)\./, 30_000);
    expect(await targetOf('web')).toEqual(['edge']);
  });
});
