/**
 * L6/P10: per-user and per-tenant rate limits (bot/infra/rate-limit.ts) on a private Redis:
 * a polite refusal in the thread once a user is over the limit, nothing else runs (no
 * action, no LLM call), limiter keys are pseudonymous and expire, and a down Redis lets
 * requests through instead of taking chat down.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../bot/infra/logger.ts';
import { createRateLimiter } from '../../bot/infra/rate-limit.ts';
import { CHANNEL_FOR_TEST, sleep, startFault, until, type FaultHarness } from './fault-harness.ts';

let h: FaultHarness;

beforeAll(async () => {
  h = await startFault({ slack: true, rateLimitUser: 3 });
  await h.bot.store.setRole(h.tenantId, 'slack:UFAST', 'viewer', 'test');
});

afterAll(async () => {
  await h?.stop();
});

it('four requests in a minute against a limit of three: one polite refusal in its thread, nothing else runs for it', async () => {
  // Windows are fixed minutes: don't let the four requests straddle a boundary.
  if (Date.now() % 60_000 > 50_000) await sleep(60_000 - (Date.now() % 60_000) + 50);
  const evs = Array.from({ length: 4 }, () => h.sender!.mention('UFAST', CHANNEL_FOR_TEST, '<@UHOIST> help'));
  for (const e of evs) expect((await e.send()).status).toBe(200);
  // Work runs after the ack, concurrently: whichever request reaches the limiter fourth is
  // refused, not necessarily the fourth sent. Exactly one thread gets the refusal.
  const said = (thread: string) => h.api!.of('chat.postMessage').filter((c) => c.body.thread_ts === thread).map((c) => String(c.body.text ?? ''));
  const threads = evs.map((e) => String(e.body.event.ts));
  await until(() => threads.every((t) => said(t).length > 0), 'an answer in all four threads');
  await sleep(500);
  for (const t of threads) expect(said(t)).toHaveLength(1);
  const refused = threads.filter((t) => /faster than I take them; please wait about \d+ s/.test(said(t)[0]!));
  expect(refused).toHaveLength(1);
  for (const t of threads.filter((x) => !refused.includes(x))) expect(said(t)[0]).toMatch(/Here is what I understand/);
  const metrics = await (await fetch(`${h.bot.http!.url}/metrics`)).text();
  expect(metrics).toMatch(/hoist_rate_limit_refusals_total\{scope="user"\} [1-9]/);
});

it('keys are pseudonymous and expire; a tenant limit applies across users; a down Redis fails open', async () => {
  const redis = new Redis(h.redis.url);
  const logger = createLogger({ level: 'silent' });
  const prefix = `rl${randomBytes(3).toString('hex')}`;
  const limiter = createRateLimiter({ redis, masterKey: h.masterKey, prefix, logger, limits: { perUser: 100, perTenant: 5, windowMs: 2_000 } });
  const results = [];
  await sleep(2_000 - (Date.now() % 2_000) + 20); // start at the beginning of a fixed 2 s window
  for (let i = 0; i < 6; i++) results.push(await limiter.take('slack:TSECRETTEAM', `slack:UREALUSER${i}`));
  expect(results.slice(0, 5).every((r) => r.ok)).toBe(true);
  expect(results[5]).toMatchObject({ ok: false, scope: 'tenant' });
  const keys = await redis.keys(`${prefix}:*`);
  expect(keys.length).toBeGreaterThan(0);
  for (const k of keys) {
    expect(k).not.toMatch(/TSECRETTEAM|UREALUSER/);
    const ttl = await redis.pttl(k);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_000);
  }
  redis.disconnect();

  const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  const open = createRateLimiter({ redis: dead, masterKey: h.masterKey, logger, limits: { perUser: 1, perTenant: 1, windowMs: 1000 } });
  expect(await open.take('t', 'u')).toEqual({ ok: true });
  expect(await open.take('t', 'u')).toEqual({ ok: true });
  dead.disconnect();
});
