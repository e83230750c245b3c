/**
 * Composition root of the bot process: the only place (with workers/main.ts) that calls
 * `new` on infrastructure. Wires adapters → pipeline → queue, the report consumer and the
 * expiry sweeper. The bot never holds Docker access.
 */
import type { Job } from 'bullmq';
import { createAuditLog } from '../db/audit.ts';
import { Sealer } from '../db/crypto.ts';
import { Store } from '../db/repo.ts';
import { QUEUES, type ResultEvent, type Role } from '../workers/contract/index.ts';
import { ConsoleAdapter } from './adapters/console/console-adapter.ts';
import type { Config } from './config.ts';
import type { AuditLog } from './core/ports.ts';
import { systemClock, type ChatAdapter, type Clock, type Logger, type Platform } from './core/types.ts';
import { createActionQueue, createWorker } from './infra/queue.ts';
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
}

export async function startBot(o: BotOptions) {
  const clock = o.clock ?? systemClock;
  const store = new Store(o.services.dbh.db);
  const audit: AuditLog = createAuditLog(o.services.dbh.db, clock);
  const queue = createActionQueue({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const adapters: Partial<Record<Platform, ChatAdapter>> = { ...o.adapters };
  const consoleAdapter = o.console ? new ConsoleAdapter(process.stdout, o.console.user) : undefined;
  if (consoleAdapter) adapters.console = consoleAdapter;
  const admins = new Set(o.config.HOIST_ADMINS);
  const inflight = new Set<string>();
  const pipeline = new Pipeline({
    store, audit, queue, clock, logger: o.logger, adapters,
    sealer: new Sealer(o.services.dbh.db, o.services.masterKey),
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

  const idle = async (timeoutMs = 10 * 60_000) => {
    const until = Date.now() + timeoutMs;
    while (inflight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  };

  return {
    pipeline,
    store,
    consoleAdapter,
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
      await resultsWorker.close();
      await queue.close();
    },
  };
}
