/**
 * Stable endpoints (workers/proxy): an app keeps one published port across deployments; a
 * healthy → healthy update and a rollback through it lose no request (a GET every 20 ms);
 * the routing table survives a proxy restart (it lives in Postgres); and a proxy in another
 * process follows route changes by NOTIFY and acknowledges once old connections drained.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../db/client.ts';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { busFor } from '../../workers/proxy/bus.ts';
import { startProxy } from '../../workers/proxy/proxy.ts';
import { createEndpoints } from '../../workers/proxy/router.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';

let h: Awaited<ReturnType<typeof startHarness>>;
const logger = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  h = await startHarness();
  await demoImage(h.docker, '1');
  await demoImage(h.docker, '2');
});
afterAll(async () => { await h?.stop(); });

/** GETs `port` every 20 ms until stopped; records each answer's page number or the failure. */
function hammer(port: number) {
  const seen: string[] = [];
  const failures: string[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t = Date.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        if (res.status !== 200) failures.push(`HTTP ${res.status}`);
        else seen.push(/demo (\d+)/.exec(text)?.[1] ?? text);
      } catch (e) {
        failures.push(String((e as Error).cause ?? e));
      }
      await sleep(Math.max(0, 20 - (Date.now() - t)));
    }
  })();
  return { seen, failures, async stop() { on = false; await loop; } };
}

const transitions = (xs: string[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);

describe('stable endpoint', () => {
  let port: number;

  it('a first deploy gets a stable port from the range, served by the proxy', async () => {
    const id = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080');
    await h.decide('alice', 'approve', id);
    port = Number((await h.chat.waitFor(/✅ web is running on :(\d+)/, 60_000))[1]);
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThanOrEqual(20999);
    const [c] = await h.containers();
    expect(c!.Ports.map((p) => p.PublicPort)).not.toContain(port); // the replica has its own port
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/demo 1/);
  });

  it('healthy → healthy update and rollback: zero failed requests, the page switches 1 → 2 → 1', async () => {
    const load = hammer(port);
    await sleep(300);
    const up = await h.propose('alice', 'deploy web image hoist-demo/httpd:2');
    await h.decide('alice', 'approve', up);
    const m = await h.chat.waitFor(new RegExp(`✅ web is running on :(\\d+) .*dep-${up.slice(4)}`), 60_000);
    expect(Number(m[1])).toBe(port);
    await sleep(300);
    const back = await h.propose('alice', 'rollback web');
    await h.decide('alice', 'approve', back);
    const r = await h.chat.waitFor(new RegExp(`✅ web is running on :(\\d+) .*dep-${back.slice(4)}`), 60_000);
    expect(Number(r[1])).toBe(port);
    await sleep(300);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(transitions(load.seen)).toEqual(['1', '2', '1']);
    expect(load.seen.length).toBeGreaterThan(20);
    // Only the current deployment's replica is left.
    expect(await h.containers()).toHaveLength(1);
  });

  it('status still lists the per-replica ports', async () => {
    await h.say('alice', 'status web');
    await h.chat.waitFor(/Status of web:\n\s+web .*running.* on :\d+ /, 30_000);
  });

  it('the routing table survives a proxy restart', async () => {
    await h.workers!.proxy!.close();
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    const again = await startProxy({ routes: new DeployRepo(h.fx.dbh.db), listenHost: '127.0.0.1', targetHost: '127.0.0.1', drainMs: 1000, logger });
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/demo 1/);
    } finally {
      await again.close();
    }
  });
});

describe('proxy in another process (NOTIFY + ack)', () => {
  it('follows a route change and acknowledges after the old connections drained', async () => {
    const serve = (body: string) => new Promise<http.Server>((resolve) => {
      const s = http.createServer((_req, res) => res.end(body));
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const [a, b] = await Promise.all([serve('A'), serve('B')]);
    const portOf = (s: http.Server) => (s.address() as AddressInfo).port;
    const proxyDb = await createDb({ url: h.fx.url, max: 2 });
    const workerRepo = new DeployRepo(h.fx.dbh.db);
    const proxy = await startProxy({ routes: new DeployRepo(proxyDb.db), bus: busFor(proxyDb.db), listenHost: '127.0.0.1', targetHost: '127.0.0.1', drainMs: 1000, pollMs: 60_000, logger });
    const endpoints = await createEndpoints({ deploys: workerRepo, range: { lo: 21000, hi: 21999 }, listenHost: '127.0.0.1', bus: busFor(h.fx.dbh.db), ackTimeoutMs: 5000, logger });
    try {
      await sleep(200); // the proxy's first "alive" arrives
      const app = (await h.bot.store.getApp(h.tenantId, 'web'))!;
      await workerRepo.setHostPorts(app.currentDeploymentId!, [portOf(a)]);
      await h.bot.store.setAppDesired(h.tenantId, 'web', { currentDeploymentId: app.currentDeploymentId });
      const stable = await endpoints.route(h.tenantId, 'web');
      expect(stable).toBe(app.endpointPort);
      expect(await (await fetch(`http://127.0.0.1:${stable}/`)).text()).toBe('A');
      await workerRepo.setHostPorts(app.currentDeploymentId!, [portOf(b)]);
      const t0 = Date.now();
      await endpoints.route(h.tenantId, 'web');
      // Acked (well before the 5 s ack timeout); fetch's kept-alive connection to A holds the drain up to its 1 s bound.
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await (await fetch(`http://127.0.0.1:${stable}/`)).text()).toBe('B');
    } finally {
      await endpoints.close();
      await proxy.close();
      await proxyDb.close();
      a.close();
      b.close();
    }
  });
});
