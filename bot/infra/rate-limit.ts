/**
 * Per-user and per-tenant rate limits for chat requests (stage 3½, before any LLM call).
 * Contract: `take(tenantId, userId)` counts one request and answers whether it may proceed;
 * a refusal names the scope and when to try again. Counters live in Redis (fixed windows,
 * INCR + PEXPIRE in one MULTI), so every bot instance shares them. Keys are pseudonymous:
 * an HMAC of the ids under a key derived from the master key — no raw Slack/Discord id ever
 * sits in Redis — and expire with their window. A Redis failure lets the request through
 * (limits protect the LLM budget and the queue; they must not take chat down with Redis).
 */
import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/types.ts';

export interface RateLimitConfig {
  /** Requests per user per window. */
  perUser: number;
  /** Requests per tenant (workspace or guild) per window. */
  perTenant: number;
  windowMs: number;
}

export type RateDecision = { ok: true } | { ok: false; scope: 'user' | 'tenant'; retryAfterMs: number };

export interface RateLimiter {
  take(tenantId: string, userId: string): Promise<RateDecision>;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = { perUser: 30, perTenant: 300, windowMs: 60_000 };

export function createRateLimiter(o: { redis: Redis; masterKey: Buffer; prefix?: string; limits?: Partial<RateLimitConfig>; logger: Logger; now?: () => number }): RateLimiter {
  const limits = { ...DEFAULT_RATE_LIMITS, ...o.limits };
  const key = createHmac('sha256', o.masterKey).update('hoist/rate-limit/v1').digest();
  const pseudo = (s: string) => createHmac('sha256', key).update(s).digest('base64url').slice(0, 22);
  const now = o.now ?? Date.now;
  const prefix = `${o.prefix ?? 'hoist'}:rl`;
  if (typeof (o.redis as unknown as Record<string, unknown>).hoistRateTake !== 'function') {
    o.redis.defineCommand('hoistRateTake', {
      lua: `local u = redis.call('INCR', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[1])
local t = redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {u, t}`,
    });
  }
  return {
    async take(tenantId, userId) {
      const t = now();
      const win = Math.floor(t / limits.windowMs);
      const retryAfterMs = (win + 1) * limits.windowMs - t;
      const tk = `${prefix}:t:${pseudo(tenantId)}:${win}`;
      const uk = `${prefix}:u:${pseudo(`${tenantId}\u0000${userId}`)}:${win}`;
      try {
        // One scripted command (one socket write) rather than a MULTI of six.
        const [userCount, tenantCount] = (await (o.redis as Redis & { hoistRateTake(n: number, ...a: (string | number)[]): Promise<[number, number]> })
          .hoistRateTake(2, uk, tk, limits.windowMs + 1000)).map(Number) as [number, number];
        if (userCount > limits.perUser) return { ok: false, scope: 'user', retryAfterMs };
        if (tenantCount > limits.perTenant) return { ok: false, scope: 'tenant', retryAfterMs };
        return { ok: true };
      } catch (e) {
        o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'ratelimit.unavailable');
        return { ok: true };
      }
    },
  };
}

/** The polite sentence posted in the thread. */
export function refusalText(d: Extract<RateDecision, { ok: false }>): string {
  const s = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
  return d.scope === 'user'
    ? `You're sending requests faster than I take them; please wait about ${s} s and ask again. Nothing was done with this one.`
    : `This workspace is sending requests faster than I take them right now; please wait about ${s} s and ask again. Nothing was done with this one.`;
}
