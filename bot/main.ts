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
import { QUEUES, type ResultEvent, type Role } from '../workers/contract/index.ts';
import { ConsoleAdapter } from './adapters/console/console-adapter.ts';
import { createSlackAdapter, type SlackAdapterOptions, type ThreadMemory } from './adapters/slack/slack-adapter.ts';
import type { Config } from './config.ts';
import type { AuditLog } from './core/ports.ts';
import { systemClock, type ChatAdapter, type Clock, type Logger, type Platform } from './core/types.ts';
import { hoistMetrics, startHttpServer } from './infra/http-server.ts';
import { createActionQueue, createWorker } from './infra/queue.ts';
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
  /** LLM budgets and timeouts (tests, bench). */
  llm?: LlmOverrides;
}

/** Slack redelivers for hours at most; a thread Hoist spoke in is remembered for 30 days. */
const THREAD_TTL_S = 30 * 24 * 3600;

export async function startBot(o: BotOptions) {
  const clock = o.clock ?? systemClock;
  const store = new Store(o.services.dbh.db);
  const sealer = new Sealer(o.services.dbh.db, new Keyring(o.services.masterKey, o.services.previousMasterKeys));
  const audit: AuditLog = createAuditLog(o.services.dbh.db, clock, sealer);
  const queue = createActionQueue({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const adapters: Partial<Record<Platform, ChatAdapter>> = { ...o.adapters };
  const consoleAdapter = o.console ? new ConsoleAdapter(process.stdout, o.console.user) : undefined;
  if (consoleAdapter) adapters.console = consoleAdapter;
  const admins = new Set(o.config.HOIST_ADMINS);
  const metrics = hoistMetrics();
  const redis = o.http || o.config.SLACK_BOT_TOKEN ? new Redis(o.services.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  redis?.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'redis.error'));
  const threadKey = (t: string, c: string, ts: string) => `${o.prefix ?? 'hoist'}:slack-thread:${t}:${c}:${ts}`;
  const threads: ThreadMemory = {
    remember: async (t, c, ts) => { await redis!.set(threadKey(t, c, ts), '1', 'EX', THREAD_TTL_S); },
    isHoistThread: async (t, c, ts) => (await redis!.exists(threadKey(t, c, ts))) === 1,
  };
  const slack = o.config.SLACK_BOT_TOKEN ? await createSlackAdapter({
    botToken: o.config.SLACK_BOT_TOKEN, signingSecret: o.config.SLACK_SIGNING_SECRET, appToken: o.config.SLACK_APP_TOKEN,
    apiUrl: o.config.SLACK_API_URL, logger: o.logger, threads, ...o.slack,
    claimEvent: (id) => store.claimEvent('slack', id),
    metrics: {
      request: (command) => metrics.requests.inc({ platform: 'slack', command }),
      decision: (decision) => metrics.decisions.inc({ platform: 'slack', decision }),
      rateLimited: () => metrics.rateLimited.inc({ platform: 'slack' }),
    },
  }) : undefined;
  if (slack) adapters.slack = slack;
  const inflight = new Set<string>();
  // Always built: inert for tenants without a key (server or BYO) or with the LLM switched off.
  const llmRedis = new Redis(o.services.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  llmRedis.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'redis.error'));
  const llm = createLlmParser({
    config: o.config, store: new LlmRepo(o.services.dbh.db), sealer, redis: llmRedis, masterKey: o.services.masterKey,
    logger: o.logger, prefix: o.prefix, overrides: o.llm,
    client: (apiKey) => new Anthropic({ apiKey, baseURL: o.config.ANTHROPIC_BASE_URL, maxRetries: 0, timeout: o.llm?.timeoutMs ?? DEFAULT_TIMEOUT_MS }),
  });
  const pipeline = new Pipeline({
    store, audit, queue, clock, logger: o.logger, adapters, sealer, llm,
    privacy: createPrivacyService({ db: o.services.dbh.db, sealer, clock, exportDir: join(resolve(o.config.HOIST_DATA_DIR), 'exports') }),
    // Console users are local and trusted: the person at the terminal is an admin.
    defaultRole: (_tenant, user): Role | undefined => (user.startsWith('console:') || admins.has(user) ? 'admin' : undefined),
    onEnqueued: (id) => inflight.add(id),
  });
  const reporter = createReporter({
    store, audit, adapters, logger: o.logger,
    onResult: (e: ResultEvent) => inflight.delete(e.actionId),
  });
  const resultsWorker = createWorker(QUEUES.results, { redisUrl: o.services.redisUrl, prefix: o.prefix },
    async (job: Job<ResultEvent>) => reporter(job.data), 1);
  resultsWorker.on('failed', (job, err) => o.logger.error({ job: job?.id, err: err.message }, 'report.failed'));
  const sweeper = setInterval(() => {
    pipeline.expireDue().catch((err: unknown) => o.logger.error({ err: String(err) }, 'expiry.failed'));
  }, 30_000);
  sweeper.unref();
  await slack?.start({ message: (m) => pipeline.handleMessage(m), decision: (d) => pipeline.handleDecision(d) });
  const http = o.http ? await startHttpServer({
    port: o.http.port, host: o.http.host, logger: o.logger,
    checks: { postgres: () => o.services.dbh.ping(), redis: () => redis!.ping() },
    mounts: slack?.mode === 'http' ? { '/slack/events': slack.httpHandler } : {},
  }) : undefined;

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
    async close() {
      clearInterval(sweeper);
      await http?.close();
      await slack?.close();
      redis?.disconnect();
      await llm.settle();
      llmRedis.disconnect();
      await resultsWorker.close();
      await queue.close();
    },
  };
}
