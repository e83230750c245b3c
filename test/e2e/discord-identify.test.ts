/**
 * A crash-looping bot must not burn Discord's identify budget: the identify history lives in
 * Redis, and a start that finds recent identifies there waits (exponential backoff) before
 * its own IDENTIFY reaches the (fake) gateway. Real discord.js, real Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_ID, startDiscordHarness, type DiscordHarness } from '../fakes/discord-harness.ts';
import { TEST_REDIS_URL, uid } from '../fixtures/services.ts';

const redis = new Redis(TEST_REDIS_URL);
const harnesses: DiscordHarness[] = [];

afterAll(async () => {
  for (const h of harnesses) await h.stop();
  redis.disconnect();
});

describe('Discord identify guard', () => {
  it('a start right after several identifies backs off before identifying, and records the identify', async () => {
    const prefix = uid('bull-');
    const key = `${prefix}:discord-identify:${APP_ID}`;
    const policy = { baseMs: 1_500, minGapMs: 100, freeInWindow: 2 };
    // Two identifies in the last seconds: a restart loop. The next one waits baseMs after the last.
    const h = await startDiscordHarness({
      workers: false, prefix, discord: { identifyPolicy: policy },
      beforeStart: async () => {
        const now = Date.now();
        await redis.zadd(key, String(now - 400), `${now - 400}:a`, String(now - 200), `${now - 200}:b`);
      },
    });
    harnesses.push(h);
    const lookup = h.rest.calls.find((c) => c.path === '/gateway/bot')!;
    const identify = h.gateway.identifies[0]!;
    expect(h.gateway.identifies).toHaveLength(1);
    expect(identify.at - lookup.at).toBeGreaterThanOrEqual(1_000);
    expect(h.logs.lines.some((l) => l.includes('discord.identify_backoff'))).toBe(true);
    const recorded = await redis.zrange(key, '0', '-1');
    expect(recorded).toHaveLength(3);
    expect(await redis.pttl(key)).toBeGreaterThan(0);

    // A dropped connection resumes: no new identify, nothing recorded.
    h.gateway.drop();
    await h.gateway.waitFor(() => h.gateway.resumes.length === 1, 'the resume');
    expect(h.gateway.identifies).toHaveLength(1);
    expect(await redis.zcard(key)).toBe(3);
  });

  it('a first start identifies at once', async () => {
    const h = await startDiscordHarness({ workers: false, discord: { identifyPolicy: { baseMs: 60_000 } } });
    harnesses.push(h);
    const lookup = h.rest.calls.find((c) => c.path === '/gateway/bot')!;
    expect(h.gateway.identifies[0]!.at - lookup.at).toBeLessThan(1_000);
    expect(h.logs.lines.some((l) => l.includes('discord.identify_backoff'))).toBe(false);

    // /readyz includes the gateway connection: an outage makes it 503, naming discord.
    expect((await fetch(`${h.bot.http!.url}/readyz`)).status).toBe(200);
    h.gateway.unresponsive = true;
    h.gateway.drop();
    await new Promise((r) => setTimeout(r, 300));
    const ready = await fetch(`${h.bot.http!.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/discord/);
  });
});
