/**
 * The LLM behind the real Slack adapter: a hanging or overloaded Messages API never delays
 * Slack's ack (3 s budget), and the thread still gets a sentence — the offline commands.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import type { Services } from '../../bot/infra/services.ts';
import { startBot } from '../../bot/main.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api.ts';
import { FakeSlackApi, textOf } from '../fakes/slack-api.ts';
import { SlackSender } from '../fakes/slack-signer.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';

const BOT_USER = 'UHOISTLLM';
let llm: FakeAnthropic;
let slack: FakeSlackApi;
let fx: Awaited<ReturnType<typeof freshDatabase>>;
let bot: Awaited<ReturnType<typeof startBot>>;
let sender: SlackSender;

beforeAll(async () => {
  llm = await startFakeAnthropic();
  fx = await freshDatabase();
  const team = `T${uid('').toUpperCase()}`;
  slack = await new FakeSlackApi({ botUserId: BOT_USER, botId: 'BHOISTLLM', teamId: team }).start();
  const secret = randomBytes(16).toString('hex');
  const config = parseConfig({
    DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.apiUrl, SLACK_SIGNING_SECRET: secret,
    ANTHROPIC_API_KEY: 'sk-ant-fake-slack-0000000000', ANTHROPIC_BASE_URL: llm.url, HOIST_ADMINS: 'slack:UDEVLLM',
  }, 'cli');
  const services: Services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey: randomBytes(32), close: async () => undefined };
  bot = await startBot({
    config, services, logger: createLogger({ level: 'silent' }), prefix: uid('bull-'), http: { port: 0, host: '127.0.0.1' },
    slack: { botId: 'BHOISTLLM', botUserId: BOT_USER, retryConfig: { retries: 0 } }, llm: { timeoutMs: 2_000, retryBaseMs: 20 },
  });
  sender = new SlackSender(`${bot.http!.url}/slack/events`, secret, team);
});
afterAll(async () => {
  await bot?.slack?.drain();
  await bot?.close();
  await slack?.close();
  await llm?.close();
  await fx?.drop();
});

describe('LLM trouble behind Slack', () => {
  for (const [what, step] of [['hangs', { kind: 'hang' as const }], ['is overloaded', { kind: 'status' as const, status: 529, retryAfterMs: 50 }]] as const) {
    it(`acks at once and answers with the offline commands when the API ${what}`, async () => {
      llm.reset();
      llm.script(step, step, step);
      const before = slack.of('chat.postMessage').length;
      const r = await sender.mention('UDEVLLM', 'C0OPSLLM', `<@${BOT_USER}> bounce the worker please`).send();
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(1_000);
      const reply = await slack.waitFor(() => slack.of('chat.postMessage').slice(before).find((c) => /language model/.test(textOf(c))), 'the fallback reply', 15_000);
      expect(textOf(reply)).toMatch(/I couldn't reach the language model; these commands work without it: deploy &lt;app&gt;/); // Slack-escaped
      expect(llm.requests.length).toBeGreaterThan(0);
      for (const q of llm.requests) expect(q.raw).not.toContain('UDEVLLM');
    });
  }
});
