/**
 * Issue-9 benchmarks (printed figures, no timed assertions), against PRIVATE PostgreSQL and
 * Redis started for the run (test/fixtures/private-services.ts) and the shared Docker engine
 * (only for the worker's readiness; nothing is deployed):
 *   1. ack latency through the real Slack HTTP receiver at 100 signed requests/s, free text
 *      so the LLM (a fake Messages API answering after 2 s) is called for every request,
 *      beside a bare Bolt app with an empty handler in the same run;
 *   2. pipeline overhead, message → card posted, 50 concurrent conversations (the fake LLM
 *      answers at 0 ms; deploy requests are read by the grammar, so it is not called), after a
 *      warm-up: closed loop (zero think time: saturation), open loop with think time, and
 *      latency against offered load (Poisson arrivals at HOIST_BENCH_RATES messages/s);
 *   3. read-only `status` end to end through the queue (action row + outbox + job + worker
 *      + result event + reply) vs raw BullMQ add + no-op process on the same Redis, at the
 *      reads lane's concurrency (HOIST_READ_CONCURRENCY);
 *   4. scale: 1,000 tenants, 10,000 apps, 1,000,000 audit events (valid hash chains, inserted
 *      in batches): `status`-path queries p99 and `hoist audit verify` time;
 *   5. RSS of the bot + workers process idle and right after (2).
 *
 *   npx tsx bench/hoist.ts            (HOIST_BENCH_AUDIT_EVENTS=100000 for a quicker run;
 *                                      HOIST_BENCH_ONLY=pipeline,status runs only those of ack, pipeline, status, scale;
 *                                      HOIST_BENCH_READS=64 sets the reads lane's concurrency, default 16)
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { parseConfig } from '../bot/config.ts';
import type { ChatAdapter, ConversationRef, MessageRef, Outbound } from '../bot/core/types.ts';
import { createLogger } from '../bot/infra/logger.ts';
import type { Services } from '../bot/infra/services.ts';
import { startBot } from '../bot/main.ts';
import { canonical, digestOf, eventHashV2, GENESIS, verifyAudit } from '../db/audit.ts';
import { createDb } from '../db/client.ts';
import { Store } from '../db/repo.ts';
import { startWorkers } from '../workers/main.ts';
import Dockerode from 'dockerode';
import type { Deployer } from '../workers/deploy/deployer.ts';
import { DockerDeployer } from '../workers/deploy/docker-deployer.ts';
import { dockerOptionsFor } from '../workers/deploy/docker-support.ts';
import { SlackSender } from '../test/fakes/slack-signer.ts';
import { startPrivatePostgres, startPrivateRedis } from '../test/fixtures/private-services.ts';

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN; };
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const rss = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
void canonical;

/** Records the time each post lands (card or result), by thread. */
class TimingAdapter implements ChatAdapter {
  readonly platform = 'console' as const;
  readonly posts = new Map<string, { t: number; kind: string; text: string }[]>();
  private n = 0;
  onPost?: (thread: string, kind: string, text: string) => void;
  async post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    const th = conv.threadId ?? '';
    const text = msg.kind === 'text' ? msg.text : msg.kind;
    const l = this.posts.get(th) ?? [];
    l.push({ t: performance.now(), kind: msg.kind, text });
    this.posts.set(th, l);
    this.onPost?.(th, msg.kind, text);
    return { id: String(++this.n) };
  }
  async update(): Promise<void> {}
  async notify(): Promise<void> {}
}

export interface HoistBench {
  ack: { hoistP50: number; hoistP99: number; bareP50: number; bareP99: number; requests: number; non200: number };
  pipeline: { p50: number; p99: number; conversations: number; messages: number; closedPerS: number; openP50?: number; openP99?: number; openRate?: number; sweep?: { rate: number; p50: number; p99: number; n: number }[] };
  status: { hoistPerS: number; rawPerS: number; n: number; noDockerPerS: number; dockerListPerS: number; durablePerS: number; xactsPerStatus: number };
  scale: { tenants: number; apps: number; auditEvents: number; statusP99: number; statusP50: number; verifyS: number; insertS: number };
  rss: { idleMb: number; underLoadMb: number };
}

export async function benchHoist(opts: { auditEvents?: number } = {}): Promise<HoistBench> {
  const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const team = 'TBENCH';
  // Slack's Web API and Anthropic stand in from another process, as remote services would.
  const fakes = fork(fileURLToPath(new URL('./remote-fakes.ts', import.meta.url)), [team, 'sk-bench'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const fakeUrls = await new Promise<{ anthropicUrl: string; slackApiUrl: string }>((res, rej) => { fakes.once('message', (m) => res(m as never)); fakes.once('exit', (c) => rej(new Error(`fakes exited ${c}`))); });
  const modelDelay = (delayMs: number) => new Promise<void>((r) => { fakes.once('message', () => r()); fakes.send({ delayMs }); });
  await modelDelay(2000);
  const anthropic = { url: fakeUrls.anthropicUrl, close: async () => { fakes.send({ close: true }); await new Promise((r) => fakes.once('exit', r)); } };
  const api = { apiUrl: fakeUrls.slackApiUrl, close: async () => undefined };
  const secret = randomBytes(16).toString('hex');
  const dbh = await createDb({ url: pg.url, max: Number(process.env.HOIST_BENCH_PG_MAX ?? 20) });
  await dbh.migrate();
  const services: Services = { dbh, redisUrl: redis.url, masterKey: randomBytes(32), close: async () => undefined };
  const config = parseConfig({
    DATABASE_URL: pg.url, REDIS_URL: redis.url, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: secret, SLACK_API_URL: api.apiUrl,
    ANTHROPIC_API_KEY: 'sk-bench', ANTHROPIC_BASE_URL: anthropic.url, HOIST_RATE_LIMIT_USER: '1000000', HOIST_RATE_LIMIT_TENANT: '1000000',
    HOIST_WORKER_CONCURRENCY: '8', HOIST_READ_CONCURRENCY: process.env.HOIST_BENCH_READS ?? '16',
  }, 'cli');
  const logger = createLogger({ level: 'silent' });
  const chat = new TimingAdapter();
  const bot = await startBot({
    config, services, logger, prefix: 'bench', adapters: { console: chat }, http: { port: 0, host: '127.0.0.1' },
    slack: { botId: 'BHOIST', botUserId: 'UHOIST', retryConfig: { retries: 0 } },
    llm: { limits: { tenantRequestsPerMinute: 1e9, userRequestsPerMinute: 1e9, tenantTokensPerDay: 1e12, userTokensPerDay: 1e12 } },
  });
  // The real Docker deployer, with a switch that answers `status` with no containers and no
  // engine call (3b: how much of the status path is the Docker list).
  const realDeployer = new DockerDeployer(new Dockerode(dockerOptionsFor(config.DOCKER_HOST ?? 'unix:///var/run/docker.sock')));
  let fakeStatus = false;
  const deployer = new Proxy(realDeployer, {
    get(t, k) {
      if (k === 'status' && fakeStatus) return async () => [];
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as Deployer;
  const workers = await startWorkers({ config, services, logger, prefix: 'bench', reconcile: false, retention: false, deployer });
  const only = new Set((process.env.HOIST_BENCH_ONLY ?? 'ack,pipeline,status,scale').split(',').map((x) => x.trim()));
  await sleep(1000);
  const idleMb = rss();
  const out = {} as HoistBench;
  try {
    // ── 1. ack latency ──
    if (only.has('ack')) {
    const sender = new SlackSender(`${bot.http!.url}/slack/events`, secret, team);
    const bare = new HTTPReceiver({ signingSecret: secret, endpoints: ['/slack/events'], logLevel: LogLevel.ERROR });
    const bareApp = new App({ receiver: bare, token: 'xoxb-bare', botId: 'BHOIST', botUserId: 'UHOIST', logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: `${api.apiUrl}/` } });
    bareApp.event('app_mention', async () => undefined);
    const bareServer = createServer((req, res) => bare.requestListener(req, res));
    await new Promise<void>((r) => bareServer.listen(0, '127.0.0.1', r));
    const bareSender = new SlackSender(`http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/slack/events`, secret, team);
    const load = async (s: SlackSender, seconds: number, rate: number) => {
      const ms: number[] = [];
      let non200 = 0;
      const pending: Promise<void>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < seconds * rate; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        pending.push(s.mention(`U${i % 50}`, 'C0BENCH', `<@UHOIST> could you maybe ship the thing number ${i} sometime`).send()
          .then((r) => { ms.push(r.ms); if (r.status !== 200) non200++; }));
      }
      await Promise.all(pending);
      return { ms, non200 };
    };
    await load(bareSender, 1, 50);
    const bareRun = await load(bareSender, 10, 100);
    const hoistRun = await load(sender, 10, 100);
    out.ack = { hoistP50: pct(hoistRun.ms, 50), hoistP99: pct(hoistRun.ms, 99), bareP50: pct(bareRun.ms, 50), bareP99: pct(bareRun.ms, 99), requests: hoistRun.ms.length, non200: hoistRun.non200 };
    await bot.slack?.drain();
    await new Promise<void>((r) => bareServer.close(() => r()));
    console.log(`1. ack latency @100 req/s, LLM 2 s: Hoist p50 ${f(out.ack.hoistP50)} ms p99 ${f(out.ack.hoistP99)} ms (${out.ack.non200} non-200 of ${out.ack.requests}); bare Bolt p50 ${f(out.ack.bareP50)} ms p99 ${f(out.ack.bareP99)} ms`);
    }

    // ── 2. pipeline overhead, message → card ──
    await modelDelay(0);
    const tenantId = 'console:bench';
    let seq = 0;
    if (only.has('pipeline')) {
    const convs = 50;
    const perConv = 20;
    const send = async (tag: string, c: number, i: number, tn = tenantId): Promise<number | undefined> => {
      const thread = `${tag}${c}-${i}`;
      const t0 = performance.now();
      await bot.pipeline.handleMessage({
        platform: 'console', eventId: `${tag}e${++seq}`, tenantId: tn, userId: `console:u${c}`, text: `deploy app${c} image hoist-demo/httpd:1 port 8080`,
        conversation: { platform: 'console', tenantId: tn, channelId: 'bench', threadId: thread }, receivedAt: new Date(),
      });
      const card = chat.posts.get(thread)?.find((p) => p.kind === 'card');
      // Read once: dropped, so the harness's own heap does not grow with every message (its major
      // collections would land in Hoist's figures).
      chat.posts.delete(thread);
      return card ? card.t - t0 : undefined;
    };
    const closedLoop = async (tag: string, tenantOf: (c: number) => string) => {
      const lat: number[] = [];
      const t0 = performance.now();
      await Promise.all(Array.from({ length: convs }, async (_, c) => {
        for (let i = 0; i < perConv; i++) { const ms = await send(tag, c, i, tenantOf(c)); if (ms !== undefined) lat.push(ms); }
      }));
      return { lat, perS: lat.length / ((performance.now() - t0) / 1000) };
    };
    // Warm-up (discarded): JIT, prepared statements, the tenant cache and the audit writer's
    // remembered heads are what a running bot has; the figures are its steady state.
    await closedLoop('w', () => tenantId);
    await closedLoop('wb', (c) => `console:bench${c}`);
    const closed = await closedLoop('p', () => tenantId);
    out.pipeline = { p50: pct(closed.lat, 50), p99: pct(closed.lat, 99), conversations: convs, messages: closed.lat.length, closedPerS: closed.perS };
    console.log(`2. pipeline message → card, ${convs} concurrent conversations, closed loop (zero think time: the box saturated, ${f(closed.perS)} messages/s): p50 ${f(out.pipeline.p50)} ms p99 ${f(out.pipeline.p99)} ms (${closed.lat.length} cards)`);
    // The same load spread over 50 tenants: each tenant's audit chain takes one append at a time.
    const closedB = await closedLoop('q', (c) => `console:bench${c}`);
    console.log(`2b. same, one tenant per conversation: p50 ${f(pct(closedB.lat, 50))} ms p99 ${f(pct(closedB.lat, 99))} ms (${f(closedB.perS)} messages/s)`);
    // 2c. Open loop: 50 conversations live at once, each a person sending their next message
    // after reading the card (think time exponential, mean HOIST_BENCH_THINK_MS, default 1 s):
    // latency at a conversation load, not at saturation. 2 and 2b (zero think time) measure
    // the saturated box, where by Little's law p50 ≈ 50 / throughput.
    const think = Number(process.env.HOIST_BENCH_THINK_MS ?? 1000);
    const lat3: number[] = [];
    const tOpen = performance.now();
    await Promise.all(Array.from({ length: convs }, async (_, c) => {
      await sleep(Math.random() * think);
      for (let i = 0; i < perConv; i++) {
        const ms = await send('o', c, i);
        if (ms !== undefined) lat3.push(ms);
        await sleep(-Math.log(1 - Math.random()) * think);
      }
    }));
    const rate = lat3.length / ((performance.now() - tOpen) / 1000);
    out.pipeline.openP50 = pct(lat3, 50);
    out.pipeline.openP99 = pct(lat3, 99);
    out.pipeline.openRate = rate;
    console.log(`2c. open loop, ${convs} conversations, think time mean ${think} ms (${f(rate)} messages/s): p50 ${f(out.pipeline.openP50)} ms p99 ${f(out.pipeline.openP99)} ms (${lat3.length} cards)`);
    // 2d. Latency against offered load: 50 conversations, Poisson arrivals at a fixed total
    // rate (a conversation's messages may overlap, as when several people share a thread),
    // 4 s per rate. The highest rate that still meets p50 < 15 ms and p99 < 50 ms is the
    // figure to compare with the closed loop's saturation throughput.
    out.pipeline.sweep = [];
    for (const r of (process.env.HOIST_BENCH_RATES ?? '250,500,1000,1500,2000,2500').split(',').map(Number)) {
      const lat: number[] = [];
      const pending: Promise<void>[] = [];
      const tr = performance.now();
      let due = tr;
      for (let i = 0; due - tr < 4000; i++) {
        due += -Math.log(1 - Math.random()) * (1000 / r);
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const lateBy = Math.max(0, performance.now() - due); // the generator's own lag counts against Hoist
        pending.push(send(`r${r}-`, i % convs, i).then((ms) => { if (ms !== undefined) lat.push(ms + lateBy); }));
      }
      await Promise.all(pending);
      const row = { rate: r, p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length };
      out.pipeline.sweep.push(row);
      console.log(`2d. open loop at ${r} messages/s (50 conversations, Poisson): p50 ${f(row.p50)} ms p99 ${f(row.p99)} ms (${row.n} cards)${row.p50 < 15 && row.p99 < 50 ? '' : '  ← over target'}`);
      await sleep(500);
    }
    }
    const underLoadMb = rss();

    // ── 3. status throughput ──
    if (only.has('status')) {
    const n = 500;
    const statusRun = async (tag: string) => {
      let done = 0;
      let allDone: () => void = () => undefined;
      const finished = new Promise<void>((r) => { allDone = r; });
      chat.onPost = (th, _k, text) => { if (th.startsWith(`${tag}-`) && /^[✅❌]/.test(text) && ++done === n) allDone(); };
      const ts0 = performance.now();
      await Promise.all(Array.from({ length: 50 }, async (_, c) => {
        for (let i = c; i < n; i += 50) {
          await bot.pipeline.handleMessage({
            platform: 'console', eventId: `${tag}e${i}`, tenantId, userId: `console:s${c}`, text: 'status',
            conversation: { platform: 'console', tenantId, channelId: 'bench', threadId: `${tag}-${i}` }, receivedAt: new Date(),
          });
        }
      }));
      await Promise.race([finished, sleep(120_000)]);
      return { done, perS: done / ((performance.now() - ts0) / 1000) };
    };
    const statsq = postgres(pg.url, { max: 1, onnotice: () => undefined });
    const commits = async () => Number((await statsq`select xact_commit from pg_stat_database where datname = current_database()`)[0]!.xact_commit);
    const c0 = await commits();
    const { done, perS: hoistPerS } = await statusRun('s');
    await sleep(700); // pg_stat counters are published with a short delay
    // Everything the box committed meanwhile (the bot, workers, relay and reconciler in this process).
    const xactsPerStatus = (await commits() - c0) / n;
    await statsq.end();
    // 3b: the same with the Docker list answered in memory.
    fakeStatus = true;
    const noDocker = await statusRun('sf');
    fakeStatus = false;
    // The Docker list alone, as many at a time as the reads lane runs, 500 calls.
    const td0 = performance.now();
    await Promise.all(Array.from({ length: config.HOIST_READ_CONCURRENCY }, async (_, c) => { for (let i = c; i < n; i += config.HOIST_READ_CONCURRENCY) await realDeployer.status(tenantId); }));
    const dockerListPerS = n / ((performance.now() - td0) / 1000);
    const rawConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const rawQ = new Queue('rawbench', { connection: rawConn, prefix: 'raw' });
    let rawDone = 0;
    let rawAll: () => void = () => undefined;
    const rawFinished = new Promise<void>((r) => { rawAll = r; });
    const rawW = new Worker('rawbench', async () => undefined, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix: 'raw', concurrency: config.HOIST_READ_CONCURRENCY });
    rawW.on('completed', () => { if (++rawDone === n) rawAll(); });
    await rawW.waitUntilReady();
    const tr0 = performance.now();
    await Promise.all(Array.from({ length: 50 }, async (_, c) => { for (let i = c; i < n; i += 50) await rawQ.add('j', { i }, { jobId: `r${i}` }); }));
    await rawFinished;
    const rawS = (performance.now() - tr0) / 1000;
    await rawW.close();
    await rawQ.close();
    rawConn.disconnect();
    // 3c. The same raw queue, each job also making as many PostgreSQL round trips as a Hoist
    // status makes in all (counted from pg_stat_database around run 3: autocommit inserts into a
    // scratch table): what durability alone costs on this box, so the ratio to it is Hoist's
    // orchestration overhead.
    const durConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const durQ = new Queue('durbench', { connection: durConn, prefix: 'raw' });
    const scratch = postgres(pg.url, { max: 20, onnotice: () => undefined });
    await scratch`create table if not exists bench_scratch (id bigserial primary key, job text, n int, at timestamptz default now())`;
    const perJob = Math.max(1, Math.round(xactsPerStatus));
    let durDone = 0;
    let durAll: () => void = () => undefined;
    const durFinished = new Promise<void>((r) => { durAll = r; });
    const durW = new Worker('durbench', async (job) => {
      for (let k = 0; k < perJob; k++) await scratch`insert into bench_scratch (job, n) values (${job.id ?? ''}, ${k})`;
    }, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix: 'raw', concurrency: config.HOIST_READ_CONCURRENCY });
    durW.on('completed', () => { if (++durDone === n) durAll(); });
    await durW.waitUntilReady();
    const tdu0 = performance.now();
    await Promise.all(Array.from({ length: 50 }, async (_, c) => { for (let i = c; i < n; i += 50) await durQ.add('j', { i }, { jobId: `d${i}` }); }));
    await durFinished;
    const durPerS = n / ((performance.now() - tdu0) / 1000);
    await durW.close();
    await durQ.close();
    durConn.disconnect();
    await scratch.end();
    out.status = { hoistPerS, rawPerS: n / rawS, n, noDockerPerS: noDocker.perS, dockerListPerS, durablePerS: durPerS, xactsPerStatus };
    console.log(`3. status end to end: Hoist ${f(out.status.hoistPerS)}/s (${done}/${n} answered) vs raw BullMQ add+process (concurrency ${config.HOIST_READ_CONCURRENCY}, as Hoist's reads lane) ${f(out.status.rawPerS)}/s → ${f((100 * out.status.hoistPerS) / out.status.rawPerS)}%`);
    console.log(`3c. raw BullMQ + ${Math.round(xactsPerStatus)} PostgreSQL commits per job (what one Hoist status commits: ${f(xactsPerStatus)}): ${f(durPerS)}/s → Hoist ${f((100 * hoistPerS) / durPerS)}% of it`);
    console.log(`3b. same with the Docker list answered in memory: ${f(noDocker.perS)}/s (${noDocker.done}/${n}) → ${f((100 * noDocker.perS) / out.status.rawPerS)}% of raw; Docker list alone, ${config.HOIST_READ_CONCURRENCY} at a time: ${f(dockerListPerS)}/s`);
    }

    // ── 4. scale ──
    if (only.has('scale')) {
    const events = opts.auditEvents ?? Number(process.env.HOIST_BENCH_AUDIT_EVENTS ?? 1_000_000);
    const sqlc = postgres(pg.url, { max: 4, onnotice: () => undefined });
    const ti0 = performance.now();
    await sqlc`insert into tenants (id, platform) select 'slack:TS' || g, 'slack' from generate_series(1, 1000) g`;
    await sqlc`insert into apps (tenant_id, name, image, port) select 'slack:TS' || (1 + (g % 1000)), 'app' || g, 'hoist-demo/httpd:1', 8080 from generate_series(1, 10000) g`;
    await sqlc`insert into deployments (id, tenant_id, app, action_id, kind, image, replicas, status, created_at)
      select 'dep-s' || g || '-' || k, 'slack:TS' || (1 + (g % 1000)), 'app' || g, 'act-s' || g || '-' || k, 'deploy', 'hoist-demo/httpd:1', 1, 'succeeded', now() - (k || ' hours')::interval
      from generate_series(1, 10000) g, generate_series(1, 3) k`;
    // Valid chains: 1,000 events per tenant, hashed here exactly as appendAudit does.
    const perTenant = Math.max(1, Math.floor(events / 1000));
    const base = Date.now() - 86_400_000;
    let batch: Record<string, unknown>[] = [];
    const heads: Record<string, unknown>[] = [];
    const flush = async () => { if (batch.length) await sqlc`insert into audit_events ${sqlc(batch as never)}`; batch = []; };
    for (let t = 1; t <= 1000; t++) {
      let prev = GENESIS;
      const tid = `slack:TS${t}`;
      for (let s = 1; s <= perTenant; s++) {
        const data = { platform: 'slack', n: s };
        const row = { tenantId: tid, seq: s, type: 'message.received', actionId: null, actorRef: `p${s % 17}`, dataDigest: digestOf(data), createdAt: new Date(base + s * 1000) };
        const hash = eventHashV2(prev, row);
        batch.push({ tenant_id: tid, seq: s, type: row.type, action_id: null, actor: row.actorRef, actor_ref: row.actorRef, data, data_digest: row.dataDigest, created_at: row.createdAt, prev_hash: prev, hash });
        prev = hash;
        if (batch.length >= 5000) await flush();
      }
      heads.push({ tenant_id: tid, seq: perTenant, hash: prev, updated_at: new Date() });
    }
    await flush();
    await sqlc`insert into audit_heads ${sqlc(heads as never)} on conflict (tenant_id) do nothing`;
    await sqlc`analyze`;
    const insertS = (performance.now() - ti0) / 1000;
    // The status path: the tenant's apps, each app's recent deployments and actions.
    const store = new Store(dbh.db);
    const q: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t = `slack:TS${1 + Math.floor(Math.random() * 1000)}`;
      const t0 = performance.now();
      const apps = await store.listApps(t);
      await Promise.all(apps.map((a) => store.deploymentsOf(t, a.name, 5)));
      await store.recentActions(t, apps[0]?.name ?? 'x', 5);
      q.push(performance.now() - t0);
    }
    const tv0 = performance.now();
    const v = await verifyAudit(dbh.db);
    const verifyS = (performance.now() - tv0) / 1000;
    if (!v.ok) throw new Error(`generated audit chain did not verify: ${JSON.stringify(v.firstBad)}`);
    await sqlc.end();
    out.scale = { tenants: 1000, apps: 10000, auditEvents: perTenant * 1000, statusP50: pct(q, 50), statusP99: pct(q, 99), verifyS, insertS };
    console.log(`4. scale (1,000 tenants, 10,000 apps, ${(perTenant * 1000).toLocaleString('en')} audit events, generated in ${f(insertS)} s): status queries p50 ${f(out.scale.statusP50)} ms p99 ${f(out.scale.statusP99)} ms; audit verify ${f(verifyS)} s (${v.events.toLocaleString('en')} events OK)`);
    }
    out.rss = { idleMb, underLoadMb };
    console.log(`5. RSS of bot + workers in one process: idle ${idleMb} MB, after benchmark 2 ${underLoadMb} MB`);
  } finally {
    await bot.slack?.drain();
    await bot.close();
    await workers.close(2000);
    await dbh.close();
    await api.close();
    await anthropic.close();
    await Promise.all([pg.destroy(), redis.stop()]);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchHoist();
  process.exit(0);
}
