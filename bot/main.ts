/**
 * Composition root of the bot process: the only place (with workers/main.ts) that calls
 * `new` on infrastructure. Wires adapters → pipeline → queue, the report consumer and the
 * expiry sweeper. The bot never holds Docker access.
 */
import { join, resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { createAuditLog } from '../db/audit.ts';
import { Keyring, Sealer } from '../db/crypto.ts';
import { createPrivacyService } from '../db/privacy/service.ts';
import { LlmRepo } from '../db/llm-repo.ts';
import { Store } from '../db/repo.ts';
import { attachTenantCache } from '../db/tenant-cache.ts';
import { createDb } from '../db/client.ts';
import { QUEUES, targetNames, type ResultEvent, type Role } from '../workers/contract/index.ts';
import { ConsoleAdapter } from './adapters/console/console-adapter.ts';
import { createSlackAdapter, type SlackAdapterOptions, type ThreadMemory } from './adapters/slack/slack-adapter.ts';
import { createDiscordAdapter, type DiscordAdapterOptions } from './adapters/discord/discord-adapter.ts';
import { discordState } from './adapters/discord/discord-state.ts';
import type { Config } from './config.ts';
import type { AuditLog } from './core/ports.ts';
import { systemClock, type ChatAdapter, type Clock, type Logger, type Platform } from './core/types.ts';
import { hoistMetrics, startHttpServer } from './infra/http-server.ts';
import { createActionQueue, createWorker, recordQueueDepth } from './infra/queue.ts';
import { createRedisForget } from './infra/redis-forget.ts';
import { createRateLimiter, refusalText, type RateLimitConfig } from './infra/rate-limit.ts';
import { createLlmParser, DEFAULT_TIMEOUT_MS, type LlmOverrides } from './llm/index.ts';
import type { Services } from './infra/services.ts';
import { Pipeline } from './pipeline/index.ts';
import { createReporter } from './report/index.ts';

export interface BotOptions {
  config: Config;
  services: Services;
  logger: Logger;
  clock?: Clock;
  /** BullMQ prefix (tests use one per run). */
  prefix?: string;
  console?: { user: string };
  /** Extra adapters (tests, Slack, Discord) keyed by platform. */
  adapters?: Partial<Record<Platform, ChatAdapter>>;
  /** Serve /healthz, /readyz, /metrics (and /slack/events in Slack HTTP mode); port 0 picks a free one. */
  http?: { port: number; host?: string };
  /** Slack adapter overrides (tests: known bot ids, no transport retries). Slack starts when SLACK_BOT_TOKEN is set. */
  slack?: Partial<Pick<SlackAdapterOptions, 'botId' | 'botUserId' | 'retryConfig' | 'maxRateLimitWaits'>>;
  /** Discord adapter overrides (tests: identify backoff, REST retries). Discord starts when DISCORD_TOKEN is set. */
  discord?: Partial<Pick<DiscordAdapterOptions, 'identifyPolicy' | 'restRetries' | 'readyTimeoutMs'>>;
  /** LLM budgets and timeouts (tests, bench). */
  llm?: LlmOverrides;
  /** More readiness checks for /readyz (`hoist start`: the workers' Docker engine). */
  readiness?: Record<string, () => Promise<unknown>>;
  /** Per-user / per-tenant chat request limits (default from config). */
  rateLimits?: Partial<RateLimitConfig>;
}

/** Slack redelivers for hours at most; a thread Hoist spoke in is remembered for 30 days. */
const THREAD_TTL_S = 30 * 24 * 3600;

export async function startBot(o: BotOptions) {
  const clock = o.clock ?? systemClock;
  // Roles, tenant settings and apps read per message are cached, invalidated by PostgreSQL
  // notifications (db/tenant-cache.ts); workers keep reading fresh.
  const tenantCache = o.config.HOIST_TENANT_CACHE === 'on' ? await attachTenantCache(o.services.dbh) : { stop: async () => undefined };
  const store = new Store(o.services.dbh.db, { cached: true });
  const sealer = new Sealer(o.services.dbh.db, new Keyring(o.services.masterKey, o.services.previousMasterKeys));
  const audit: AuditLog = createAuditLog(o.services.dbh.db, clock, sealer);
  const queue = createActionQueue({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const adapters: Partial<Record<Platform, ChatAdapter>> = { ...o.adapters };
  const consoleAdapter = o.console ? new ConsoleAdapter(process.stdout, o.console.user) : undefined;
  if (consoleAdapter) adapters.console = consoleAdapter;
  const admins = new Set(o.config.HOIST_ADMINS);
  const metrics = hoistMetrics();
  const redis = o.http || o.config.SLACK_BOT_TOKEN || o.config.DISCORD_TOKEN ? new Redis(o.services.redisUrl, { maxRetriesPerRequest: 2, enableAutoPipelining: true }) : undefined;
  redis?.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'redis.error'));
  // Set on shutdown (drain): Slack requests are answered 503 so Slack retries them on another instance.
  let draining = false;
  let dbDownUntil = 0;
  let dbUpUntil = 0;
  // Its own connection: a pool busy with the pipeline's queries must not look like a down database.
  const gateDb = o.services.dbh.kind === 'postgres' && o.config.DATABASE_URL ? await createDb({ url: o.config.DATABASE_URL, max: 1 }) : undefined;
  const gatePing = () => (gateDb ?? o.services.dbh).ping();
  // One ping at a time, shared by every request waiting on it.
  let pinging: Promise<boolean> | undefined;
  const probe = (): Promise<boolean> => (pinging ??= (async () => {
    // After a restart each pooled connection fails once before it reconnects: a failure is retried.
    for (let attempt = 0; attempt < 3; attempt++) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([gatePing(), new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), 500); })]);
        dbUpUntil = Date.now() + 250;
        return true;
      } catch (e) {
        if (e instanceof Error && e.message === 'timeout') break; // unreachable or hung: answer now, Slack retries
      } finally {
        clearTimeout(timer);
      }
    }
    dbDownUntil = Date.now() + 500;
    return false;
  })().finally(() => { pinging = undefined; }));
  const admit = async (): Promise<string | undefined> => {
    if (draining) return 'shutting down';
    if (Date.now() < dbDownUntil) return 'database unavailable';
    // PostgreSQL is taken as up for 250 ms after a good ping: under load a ping per request would
    // queue behind the pipeline's own queries and slow every ack. In the last 100 ms of that
    // window a busy gate refreshes it in the background, so requests under steady load never wait
    // on a ping. The cost: a request in the ~250 ms after PostgreSQL died can be acked and then
    // fail (logged, answered in the thread).
    const left = dbUpUntil - Date.now();
    if (left > 0) {
      if (left < 100) void probe();
      return undefined;
    }
    // A down PostgreSQL must not be acked: the event could not be claimed or handled.
    return (await probe()) ? undefined : 'database unavailable';
  };
  const threadKey = (t: string, c: string, ts: string) => `${o.prefix ?? 'hoist'}:slack-thread:${t}:${c}:${ts}`;
  const threads: ThreadMemory = {
    remember: async (t, c, ts) => { await redis!.set(threadKey(t, c, ts), '1', 'EX', THREAD_TTL_S); },
    isHoistThread: async (t, c, ts) => (await redis!.exists(threadKey(t, c, ts))) === 1,
  };
  const slack = o.config.SLACK_BOT_TOKEN ? await createSlackAdapter({
    botToken: o.config.SLACK_BOT_TOKEN, signingSecret: o.config.SLACK_SIGNING_SECRET, appToken: o.config.SLACK_APP_TOKEN,
    apiUrl: o.config.SLACK_API_URL, logger: o.logger, threads, ...o.slack,
    claimEvent: (id) => store.claimEvent('slack', id),
    admit,
    metrics: {
      request: (command) => metrics.requests.inc({ platform: 'slack', command }),
      decision: (decision) => metrics.decisions.inc({ platform: 'slack', decision }),
      rateLimited: () => metrics.rateLimited.inc({ platform: 'slack' }),
    },
  }) : undefined;
  if (slack) adapters.slack = slack;
  const discord = o.config.DISCORD_TOKEN ? createDiscordAdapter({
    token: o.config.DISCORD_TOKEN, appId: o.config.DISCORD_APP_ID ?? '', apiUrl: o.config.DISCORD_API_URL, logger: o.logger, ...o.discord,
    ...discordState(redis!, o.prefix ?? 'hoist', o.config.DISCORD_APP_ID ?? ''),
    claimEvent: (id) => store.claimEvent('discord', id),
    metrics: {
      request: (command) => metrics.requests.inc({ platform: 'discord', command }),
      decision: (decision) => metrics.decisions.inc({ platform: 'discord', decision }),
      rateLimited: () => metrics.rateLimited.inc({ platform: 'discord' }),
    },
  }) : undefined;
  if (discord) adapters.discord = discord;
  const inflight = new Set<string>();
  // Its own producer-style connection: a down Redis answers at once (and lets the request through).
  // Auto-pipelining on the per-message connections: commands issued in the same tick share one
  // socket write (each write is a syscall, the main cost of a command here).
  const limiterRedis = new Redis(o.services.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true });
  limiterRedis.on('error', (err: Error) => o.logger.debug({ err: err.message }, 'redis.error'));
  const limiter = createRateLimiter({
    redis: limiterRedis, masterKey: o.services.masterKey, prefix: o.prefix, logger: o.logger,
    limits: { perUser: o.config.HOIST_RATE_LIMIT_USER, perTenant: o.config.HOIST_RATE_LIMIT_TENANT, ...o.rateLimits },
  });
  // Always built: inert for tenants without a key (server or BYO) or with the LLM switched off.
  const llmRedis = new Redis(o.services.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2_000, enableAutoPipelining: true });
  llmRedis.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'redis.error'));
  const llm = createLlmParser({
    config: o.config, store: new LlmRepo(o.services.dbh.db), sealer, redis: llmRedis, masterKey: o.services.masterKey,
    logger: o.logger, prefix: o.prefix,
    overrides: {
      onCall: (c) => {
        metrics.llmCalls.inc({ outcome: c.outcome });
        metrics.llmTokens.inc({ direction: 'input' }, c.inputTokens);
        metrics.llmTokens.inc({ direction: 'output' }, c.outputTokens);
      },
      ...o.llm,
    },
    client: (apiKey) => new Anthropic({ apiKey, baseURL: o.config.ANTHROPIC_BASE_URL, maxRetries: 0, timeout: o.llm?.timeoutMs ?? DEFAULT_TIMEOUT_MS }),
  });
  const pipeline = new Pipeline({
    store, audit, queue, clock, logger: o.logger, adapters, sealer, llm,
    privacy: createPrivacyService({
      db: o.services.dbh.db, sealer, clock, exportDir: join(resolve(o.config.HOIST_DATA_DIR), 'exports'),
      forgetRedis: createRedisForget({ redisUrl: o.services.redisUrl, prefix: o.prefix }),
    }),
    // Console users are local and trusted: the person at the terminal is an admin.
    defaultRole: (_tenant, user): Role | undefined => (user.startsWith('console:') || admins.has(user) ? 'admin' : undefined),
    onEnqueued: (id) => inflight.add(id),
    allowedRegistries: o.config.HOIST_ALLOWED_REGISTRIES,
    // Only when the bot is told the targets; otherwise the workers refuse an unknown one.
    ...(o.config.HOIST_TARGETS.length ? { targets: targetNames(o.config.HOIST_TARGETS) } : {}),
    rateLimit: async (tenantId, userId) => {
      if (userId.startsWith('console:')) return undefined; // the person at the terminal is not rate limited
      const d = await limiter.take(tenantId, userId);
      if (d.ok) return undefined;
      metrics.rateLimitRefusals.inc({ scope: d.scope });
      o.logger.info({ tenant: tenantId, scope: d.scope }, 'ratelimit.refused');
      return refusalText(d);
    },
    observe: { redactionFindings: (kinds) => { for (const kind of kinds) metrics.redactionFindings.inc({ kind }); } },
  });
  const reporter = createReporter({
    store, audit, adapters, logger: o.logger,
    onResult: (e: ResultEvent) => inflight.delete(e.actionId),
  });
  const resultsWorker = createWorker(QUEUES.results, { redisUrl: o.services.redisUrl, prefix: o.prefix },
    // Several at once (the reporter keeps each action's events in order): one at a time capped
    // read-only throughput at one round of queries + a chat post per result.
    async (job: Job<ResultEvent>) => reporter(job.data), 8);
  resultsWorker.on('failed', (job, err) => o.logger.error({ job: job?.id, err: err.message }, 'report.failed'));
  const sweeper = setInterval(() => {
    pipeline.expireDue().catch((err: unknown) => o.logger.error({ err: String(err) }, 'expiry.failed'));
  }, 30_000);
  sweeper.unref();
  await slack?.start({ message: (m) => pipeline.handleMessage(m), decision: (d) => pipeline.handleDecision(d) });
  await discord?.start({ message: (m) => pipeline.handleMessage(m), decision: (d) => pipeline.handleDecision(d) });
  const http = o.http ? await startHttpServer({
    port: o.http.port, host: o.http.host, logger: o.logger,
    checks: {
      postgres: () => o.services.dbh.ping(), redis: () => redis!.ping(), ...(discord ? { discord: () => discord.ready() } : {}),
      ...(slack ? { slack: () => slack.ready() } : {}),
      ...o.readiness,
    },
    mounts: slack?.mode === 'http' ? { '/slack/events': slack.httpHandler } : {},
  }) : undefined;

  // Queue depth for /metrics, read every few seconds (not on the scrape: a down Redis must not stall it).
  const depth = http ? setInterval(() => {
    recordQueueDepth([queue.queue, queue.reads], metrics.queueDepth);
  }, 5_000) : undefined;
  depth?.unref();

  const idle = async (timeoutMs = 10 * 60_000) => {
    const until = Date.now() + timeoutMs;
    while (inflight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  };

  return {
    pipeline,
    store,
    llm,
    consoleAdapter,
    slack,
    discord,
    http,
    idle,
    async runConsole(input: NodeJS.ReadableStream, interactive: boolean) {
      if (!consoleAdapter) throw new Error('console adapter not enabled');
      await consoleAdapter.run(input, {
        message: (m) => pipeline.handleMessage(m),
        decision: (d) => pipeline.handleDecision(d),
        idle: () => idle(),
      }, interactive);
    },
    /** Shutdown, first step: /readyz 503, new Slack requests 503 (Slack retries them elsewhere), no more sweeps. */
    drain() {
      draining = true;
      http?.drain();
      clearInterval(sweeper);
    },
    /** Lets detached chat work and queued results finish, then closes everything this bot opened. */
    async close() {
      draining = true;
      clearInterval(sweeper);
      clearInterval(depth);
      http?.drain();
      await slack?.close();
      await discord?.close();
      await http?.close();
      redis?.disconnect();
      limiterRedis.disconnect();
      await gateDb?.close();
      await llm.settle();
      llmRedis.disconnect();
      await resultsWorker.close();
      await queue.close();
      await tenantCache.stop();
    },
  };
}
