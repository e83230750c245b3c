/**
 * The endpoint's drain (workers/proxy/tcp-proxy.ts) with HTTP keep-alive clients: after a
 * switch, a kept-alive connection to the old target is closed gracefully once it is idle
 * (no request lost, the drain ends long before its bound), while a request in flight on an
 * old connection is left to finish. No Docker here: two local HTTP servers stand in for the
 * old and the new replica.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppProxy } from '../../workers/proxy/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closers: Array<() => Promise<void>> = [];
afterEach(async () => { for (const c of closers.splice(0)) await c(); });

async function server(body: string, delayMs = 0) {
  const s = http.createServer((_req, res) => { setTimeout(() => res.end(body), delayMs); });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }));
  return { host: '127.0.0.1', port: (s.address() as AddressInfo).port };
}

async function proxyTo(target: { host: string; port: number }, opts: { drainMs: number; idleCloseMs?: number }) {
  const p = new AppProxy('127.0.0.1', 0, opts);
  await p.listen();
  closers.push(() => p.close());
  await p.setTargets([target]);
  const port = ((p as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return { p, port };
}

/** GET through one keep-alive agent (one socket, reused) every `everyMs`. */
function client(port: number, everyMs: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen: string[] = [];
  const failures: string[] = [];
  let on = true;
  const get = () => new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, agent, path: '/' }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  const loop = (async () => {
    while (on) {
      try { seen.push(await get()); } catch (e) { failures.push(String(e)); }
      await sleep(everyMs);
    }
  })();
  return { seen, failures, async stop() { on = false; await loop; agent.destroy(); } };
}

describe('endpoint drain with keep-alive clients', () => {
  it('closes an idle kept-alive connection to the old target gracefully: no failed request, drain well before its bound', async () => {
    const [a, b] = await Promise.all([server('A'), server('B')]);
    const { p, port } = await proxyTo(a, { drainMs: 10_000, idleCloseMs: 200 });
    const c = client(port, 300); // idle 300 ms between requests, on one reused connection
    await sleep(400);
    expect(p.connections()).toBe(1);
    const t0 = Date.now();
    await p.setTargets([b]);
    const drained = Date.now() - t0;
    await sleep(400);
    await c.stop();
    expect(c.failures).toEqual([]);
    expect(c.seen.at(-1)).toBe('B');
    expect(drained).toBeLessThan(2_000); // was the 10 s bound: the idle connection held it
  });

  it('leaves a request in flight on an old connection to finish', async () => {
    const [slow, b] = await Promise.all([server('slow', 1_500), server('B')]);
    const { p, port } = await proxyTo(slow, { drainMs: 10_000, idleCloseMs: 200 });
    const c = client(port, 1_000);
    await sleep(100); // the client's first request is on its way to the slow old target
    const t0 = Date.now();
    await p.setTargets([b]);
    const drained = Date.now() - t0;
    expect(drained).toBeGreaterThan(1_000); // waited for the answer, not cut after 200 ms of quiet
    expect(drained).toBeLessThan(5_000);
    await sleep(1_000); // its next request, on a new connection
    await c.stop();
    expect(c.seen).toEqual(['slow', 'B']);
    expect(c.failures).toEqual([]);
  });

  it('at the bound, a connection between requests ends gracefully after its answer; one with a request in flight is cut', async () => {
    const [a, slow, b] = await Promise.all([server('A'), server('slow', 1_000), server('B')]);
    const open = async (port: number, waitAnswer: boolean) => {
      const sock = net.connect(port, '127.0.0.1');
      closers.push(async () => { sock.destroy(); });
      let got = 0;
      sock.on('data', () => { got++; });
      const outcome = new Promise<string>((resolve) => {
        sock.on('end', () => resolve(`fin after ${got} answer(s)`));
        sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      const answered = new Promise<void>((resolve) => sock.once('data', () => resolve()));
      sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      if (waitAnswer) await answered;
      return { outcome };
    };
    const idle = await proxyTo(a, { drainMs: 300, idleCloseMs: 60_000 });
    const between = await open(idle.port, true);
    await idle.p.setTargets([b]);
    expect(await between.outcome).toBe('fin after 1 answer(s)');

    const busy = await proxyTo(slow, { drainMs: 300, idleCloseMs: 60_000 });
    const inFlight = await open(busy.port, false);
    await sleep(100);
    await busy.p.setTargets([b]);
    expect(await inFlight.outcome).toBe('fin after 0 answer(s)'); // closed, unanswered: the client sees a hang-up
  });
});
