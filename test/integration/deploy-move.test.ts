/**
 * Moving an app between targets through chat: `deploy web on swarm` runs it as a Swarm
 * service (single-node swarm, joined here and left in teardown); `deploy web on default`
 * brings it back to plain containers and, once those serve, removes the Swarm service — the
 * result says how many replicas it removed from where. Nothing is left running twice.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { startWorkers } from '../../workers/main.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';
import { TEST_REDIS_URL } from '../fixtures/services.ts';

let h: Awaited<ReturnType<typeof startHarness>>;
let workers: Awaited<ReturnType<typeof startWorkers>>;
let joinedHere = false;

const services = async () => (await h.docker.listServices({ filters: { label: [`hoist.tenant=${h.tenantId}`] } })) as Array<{ Spec?: { Labels?: Record<string, string> } }>;

const plain = async () => (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'web' && !c.Labels['com.docker.swarm.service.id']);

beforeAll(async () => {
  h = await startHarness({ workers: false });
  const state = (await h.docker.info() as { Swarm?: { LocalNodeState?: string } }).Swarm?.LocalNodeState;
  if (state !== 'active') {
    execFileSync('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    joinedHere = true;
  }
  await demoImage(h.docker, '1');
  const config = parseConfig({ DATABASE_URL: h.fx.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent', HOIST_TARGETS: 'swarm' }, 'cli');
  workers = await startWorkers({ config, services: h.services, logger: createLogger({ level: 'silent' }), clock: h.clock, prefix: h.prefix });
}, 120_000);
afterAll(async () => {
  await workers?.close();
  await h?.stop();
  if (joinedHere) execFileSync('docker', ['swarm', 'leave', '--force']);
}, 120_000);

describe('moving an app between targets', () => {
  it('swarm → default: the new containers serve, then the Swarm service is removed and the result says so', async () => {
    const first = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080 on swarm');
    await h.decide('alice', 'approve', first);
    await h.chat.waitFor(new RegExp(`✅ web is running .*dep-${first.slice(4)}`), 120_000);
    expect((await services()).filter((s) => s.Spec?.Labels?.['hoist.app'] === 'web')).toHaveLength(1);
    expect(await plain()).toHaveLength(0); // Swarm's task containers carry the service's labels; no plain ones yet

    const back = await h.propose('alice', 'deploy web on default');
    await h.decide('alice', 'approve', back);
    const m = await h.chat.waitFor(new RegExp(`✅ web is running on :(\\d+) .*dep-${back.slice(4)}\\)\\. Removed 1 replica from swarm\\.`), 120_000);
    expect(await (await fetch(`http://127.0.0.1:${m[1]}/`)).text()).toMatch(/Hello from Hoist/);
    expect((await services()).filter((s) => s.Spec?.Labels?.['hoist.app'] === 'web')).toHaveLength(0);
    expect(await plain()).toHaveLength(1);
  });
});
