/**
 * The bot (and optionally the workers) against real PostgreSQL, Redis and Docker, with the
 * LLM pointed at the fake Messages API (ANTHROPIC_BASE_URL). Like test/fixtures/harness.ts,
 * but on a chosen platform (Slack by default, so platform ids look real) and with LLM
 * budgets and timeouts tunable per test file.
 */
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { parseConfig } from '../../bot/config.ts';
import type { Clock, ConversationRef, Decision, InboundMessage, Platform } from '../../bot/core/types.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import type { Services } from '../../bot/infra/services.ts';
import type { LlmOverrides } from '../../bot/llm/index.ts';
import { startBot } from '../../bot/main.ts';
import { cleanupTenant } from '../fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';
import { startFakeAnthropic } from './anthropic-api.ts';
import { RecordingAdapter } from './recording-adapter.ts';

class TestClock implements Clock {
  offsetMs = 0;
  now() { return new Date(Date.now() + this.offsetMs); }
}

export const FAKE_KEY = 'sk-ant-fake-server-key-0000000000';

export async function startLlmHarness(opts: {
  workers?: boolean;
  platform?: Platform;
  llm?: LlmOverrides;
  /** Users (bare ids) who are admins via HOIST_ADMINS. */
  admins?: string[];
  serverKey?: boolean;
} = {}) {
  const platform = opts.platform ?? 'slack';
  const api = await startFakeAnthropic();
  const fx = await freshDatabase();
  const prefix = uid('bull-');
  const tenantId = `${platform}:T${uid('').toUpperCase()}`;
  const services: Services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey: randomBytes(32), close: async () => undefined };
  const config = parseConfig({
    DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent', ANTHROPIC_BASE_URL: api.url,
    ANTHROPIC_API_KEY: opts.serverKey === false ? undefined : FAKE_KEY, HOIST_LLM_MODEL: 'claude-fake-1',
    HOIST_ADMINS: (opts.admins ?? []).map((u) => `${platform}:${u}`).join(','),
  }, 'cli');
  const logger = createLogger({ level: process.env.HOIST_TEST_LOG ?? 'silent' });
  const clock = new TestClock();
  const chat = new RecordingAdapter(platform);
  const bot = await startBot({ config, services, logger, clock, prefix, adapters: { [platform]: chat },
    // The chat rate limits (stage 3½) are not under test here; the LLM's own budgets are.
    rateLimits: { perUser: 100_000, perTenant: 100_000 },
    llm: { retryBaseMs: 20, settingsTtlMs: 0, ...opts.llm } });
  // Imported only when wanted: the bot-only tests need no Docker-side code at all.
  const workers = opts.workers ? await (await import('../../workers/main.ts')).startWorkers({ config, services, logger, clock, prefix }) : undefined;
  const docker = new Dockerode();
  let n = 0;
  const conv = (threadId?: string): ConversationRef => ({ platform, tenantId, channelId: 'C0CHANNEL1', ...(threadId ? { threadId } : {}) });
  return {
    api, fx, bot, workers, chat, clock, tenantId, docker, services, prefix, platform, config,
    /** Handles one message, then waits for the LLM's background bookkeeping, so tests read settled rows. */
    async say(user: string, text: string, threadId?: string): Promise<void> {
      const msg: InboundMessage = { platform, eventId: `e${++n}`, tenantId, userId: `${platform}:${user}`, text, conversation: conv(threadId), receivedAt: new Date() };
      await bot.pipeline.handleMessage(msg);
      await bot.llm.settle();
    },
    decide(user: string, decision: 'approve' | 'cancel', actionId: string, threadId?: string): Promise<void> {
      const d: Decision = { platform, eventId: `d${++n}`, tenantId, userId: `${platform}:${user}`, actionId, decision, conversation: conv(threadId) };
      return bot.pipeline.handleDecision(d);
    },
    /** What Hoist said in reply to `text` (everything posted while handling it). */
    async reply(user: string, text: string, threadId?: string): Promise<{ text: string; cards: string[] }> {
      const before = chat.said.length;
      await this.say(user, text, threadId);
      const said = chat.said.slice(before);
      return {
        text: said.map((s) => s.text).join('\n'),
        cards: said.flatMap((s) => (s.msg?.kind === 'card' ? [s.msg.card.actionId] : [])),
      };
    },
    async containers() {
      return docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${tenantId}`] } });
    },
    async stop() {
      await bot.close();
      await workers?.close();
      await cleanupTenant(docker, tenantId);
      await fx.drop();
      await api.close();
    },
  };
}
export type LlmHarness = Awaited<ReturnType<typeof startLlmHarness>>;
