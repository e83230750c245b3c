/**
 * Deploy benchmark (real PostgreSQL, Redis and Docker, as the integration tests use):
 * 1. Approve-to-healthy of the demo image through the whole path (approve → queue → worker
 *    → rollout → result in the thread), beside a plain `docker create` + `start` + the same
 *    health wait in the same run; the ratio is Hoist's overhead (target ≤ 1.2×). A third
 *    series creates the container exactly as Hoist does (hardened, on the tenant's network)
 *    and waits the same way: plain → hardened is the price of isolation, hardened → Hoist is
 *    Hoist's own path (queue, Postgres, result).
 * 2. 20 apps rolled out in parallel: total time and peak RSS of the process (bot + workers).
 *
 *   npx tsx bench/deploy.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import Dockerode from 'dockerode';
import { parseConfig } from '../bot/config.ts';
import type { Decision, InboundMessage } from '../bot/core/types.ts';
import { createLogger } from '../bot/infra/logger.ts';
import { startBot } from '../bot/main.ts';
import { startWorkers } from '../workers/main.ts';
import { waitHealthy } from '../workers/deploy/docker-health.ts';
import { replicaCreateOptions, resolveTenantNetwork } from '../workers/deploy/docker-objects.ts';
import { RecordingAdapter } from '../test/fakes/recording-adapter.ts';
import { cleanupTenant, demoImage } from '../test/fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../test/fixtures/services.ts';

export interface DeployBench {
  hoistMs: number[];
  plainMs: number[];
  hardenedMs: number[];
  ratio: number;
  parallel: { apps: number; totalMs: number; peakRssMb: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const PLAIN = (image: string, label: string): Dockerode.ContainerCreateOptions => ({
  Image: image, Labels: { 'hoist.tenant': label }, ExposedPorts: { '8080/tcp': {} },
  HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
});

/** Hoist's own create options (hardening, tenant network), without Hoist around them. */
const HARDENED = (image: string, tenantId: string, networkId: string, i: number): Dockerode.ContainerCreateOptions => ({
  ...replicaCreateOptions({ tenantId, app: 'hardened', deploymentId: `dep-h${i}`, actionId: `act-h${i}`, image, port: 8080, replicas: 1, env: {} }, 1, networkId,
    { publishAddress: '127.0.0.1', memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 256 }),
});

async function plainRollout(docker: Dockerode, options: Dockerode.ContainerCreateOptions): Promise<number> {
  const t0 = performance.now();
  const c = await docker.createContainer(options);
  await c.start();
  const o = await waitHealthy({ container: c, replica: 1, port: 8080, hasHealthcheck: false, restartsBefore: 0 },
    { deadline: Date.now() + 30_000, probeHost: '127.0.0.1', timeoutMs: 30_000, cancelled: () => false });
  if (!o.ok) throw new Error(`plain rollout failed: ${o.reason}`);
  const ms = performance.now() - t0;
  await c.remove({ force: true });
  return ms;
}

export async function benchDeploy(opts: { rounds?: number; apps?: number } = {}): Promise<DeployBench> {
  const rounds = opts.rounds ?? 7;
  const appsN = opts.apps ?? 20;
  const docker = new Dockerode();
  const image = await demoImage(docker, '1');
  const fx = await freshDatabase();
  const prefix = uid('bench-');
  const tenantId = `console:${uid('bench')}`;
  const services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey: randomBytes(32), close: async () => undefined };
  const config = parseConfig({ DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent', HOIST_WORKER_CONCURRENCY: String(appsN) }, 'cli');
  const logger = createLogger({ level: 'silent' });
  const chat = new RecordingAdapter('console');
  const bot = await startBot({ config, services, logger, prefix, adapters: { console: chat } });
  const workers = await startWorkers({ config, services, logger, prefix, reconcile: false });
  const conv = { platform: 'console' as const, tenantId, channelId: 'bench' };
  let n = 0;
  const propose = async (text: string): Promise<string> => {
    const before = chat.said.length;
    const msg: InboundMessage = { platform: 'console', eventId: `e${++n}`, tenantId, userId: 'console:alice', text, conversation: conv, receivedAt: new Date() };
    await bot.pipeline.handleMessage(msg);
    const card = chat.said.slice(before).find((s) => s.msg?.kind === 'card');
    if (!card || card.msg?.kind !== 'card') throw new Error(`no card for ${text}`);
    return card.msg.card.actionId;
  };
  const approve = (actionId: string) => {
    const d: Decision = { platform: 'console', eventId: `d${++n}`, tenantId, userId: 'console:alice', actionId, decision: 'approve', conversation: conv };
    return bot.pipeline.handleDecision(d);
  };
  try {
    const hoistMs: number[] = [];
    const plainMs: number[] = [];
    const hardenedMs: number[] = [];
    const networkId = await resolveTenantNetwork(docker, tenantId);
    for (let i = 0; i < rounds; i++) {
      // Alternate, so no side always runs on a warmer engine.
      plainMs.push(await plainRollout(docker, PLAIN(image, tenantId)));
      hardenedMs.push(await plainRollout(docker, HARDENED(image, tenantId, networkId, i)));
      const id = await propose(`deploy b${i} image ${image} port 8080`);
      const t0 = performance.now();
      await approve(id);
      await chat.waitFor(new RegExp(`✅ b${i} is running.*dep-${id.slice(4)}`));
      hoistMs.push(performance.now() - t0);
    }
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const ids = [];
    for (let i = 0; i < appsN; i++) ids.push(await propose(`deploy p${i} image ${image} port 8080`));
    const t0 = performance.now();
    await Promise.all(ids.map((id) => approve(id)));
    for (const [i, id] of ids.entries()) await chat.waitFor(new RegExp(`✅ p${i} is running.*dep-${id.slice(4)}`), 120_000);
    const totalMs = performance.now() - t0;
    clearInterval(sampler);
    return {
      hoistMs, plainMs, hardenedMs, ratio: median(hoistMs) / median(plainMs),
      parallel: { apps: appsN, totalMs, peakRssMb: Math.round(peak / 1024 / 1024) },
    };
  } finally {
    await bot.close();
    await workers.close();
    await cleanupTenant(docker, tenantId);
    await fx.drop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchDeploy();
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  process.stdout.write(
    `approve-to-healthy (Hoist): median ${median(r.hoistMs).toFixed(0)} ms  [${f(r.hoistMs)}]\n` +
    `plain create+start+health:  median ${median(r.plainMs).toFixed(0)} ms  [${f(r.plainMs)}]\n` +
    `hardened, tenant network:   median ${median(r.hardenedMs).toFixed(0)} ms  [${f(r.hardenedMs)}]\n` +
    `overhead ratio: ${r.ratio.toFixed(2)}x (target <= 1.2x); isolation alone ${(median(r.hardenedMs) / median(r.plainMs)).toFixed(2)}x, ` +
    `Hoist's own path ${(median(r.hoistMs) - median(r.hardenedMs)).toFixed(0)} ms\n` +
    `${r.parallel.apps} apps in parallel: ${(r.parallel.totalMs / 1000).toFixed(1)} s total, peak RSS ${r.parallel.peakRssMb} MB\n`,
  );
  process.exit(0);
}
