/**
 * F10/F11: the Docker engine becomes unreachable mid-rollout. The shared dockerd is never
 * restarted here (other suites' containers live on it): the worker reaches Docker through a
 * unix-socket proxy this test owns (DOCKER_HOST=unix://<proxy>), and cutting the proxy
 * drops every open connection and refuses new ones — what a worker sees while the engine
 * restarts. Restored after ~2.5 s, the retried job converges to one deployment.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoImage } from '../fixtures/images.ts';
import { startDockerProxy, type DockerProxy } from '../fixtures/private-services.ts';
import { sleep, startFault, until, type FaultHarness } from './fault-harness.ts';

let h: FaultHarness;
let proxy: DockerProxy;
let image: string;

beforeAll(async () => {
  proxy = await startDockerProxy();
  h = await startFault({ dockerHost: proxy.host });
  image = await demoImage(h.docker, '1');
});

afterAll(async () => {
  await h?.stop();
  await proxy?.close();
});

it('engine unreachable right after the container was created: the action ends once, nothing half-made is left', async () => {
  const id = await h.propose('dev', `deploy dc image ${image} port 8080`);
  const seenBefore = proxy.seen.length;
  await h.approve('dev', id);
  await until(() => proxy.seen.slice(seenBefore).some((l) => /POST \S*\/containers\/create/.test(l)), 'the worker to create a container', 30_000);
  proxy.cut();
  await sleep(2_500);
  proxy.restore();

  await h.waitTerminal([id], 90_000);
  await sleep(1_500);
  await h.invariants([id]);
  const cs = await h.docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${h.tenantId}`, 'hoist.app=dc'] } });
  const status = (await h.bot.store.getAction(id))?.status;
  // Either the retry finished the rollout (one running container) or it gave up cleanly (none left behind).
  if (status === 'succeeded') expect(cs.map((c) => c.State)).toEqual(['running']);
  else expect(cs.filter((c) => c.State === 'created')).toEqual([]);
  expect(status).toBe('succeeded');
});
