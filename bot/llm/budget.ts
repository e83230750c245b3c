/**
 * Per-tenant and per-user LLM budgets in Redis: requests per minute (fixed one-minute
 * windows) and tokens per UTC day. Keys carry pseudonyms (HMAC), never a user or tenant id.
 * `count` counts a request before it is sent (in parallel with the settings that hold the
 * limits); `charge` adds the tokens the API reported. A budget check that cannot reach Redis
 * fails closed: the caller answers with the offline commands.
 */
import type { Redis } from 'ioredis';

export interface BudgetLimits {
  tenantRequestsPerMinute: number;
  userRequestsPerMinute: number;
  tenantTokensPerDay: number;
  userTokensPerDay: number;
}

export const DEFAULT_LIMITS: BudgetLimits = {
  tenantRequestsPerMinute: 60,
  userRequestsPerMinute: 12,
  tenantTokensPerDay: 1_000_000,
  userTokensPerDay: 200_000,
};

export type BudgetVerdict = { ok: true } | { ok: false; scope: 'workspace' | 'user'; per: 'minute' | 'day' };

/** This minute's requests (this one included) and today's tokens so far. */
export interface BudgetCounts {
  tenantRequests: number;
  userRequests: number;
  tenantTokens: number;
  userTokens: number;
}

export interface Budget {
  /** Counts this request and reads the totals; judged against the tenant's limits by `judge`. */
  count(who: { tenant: string; user: string }): Promise<BudgetCounts>;
  charge(who: { tenant: string; user: string }, tokens: number): Promise<void>;
}

export function judge(c: BudgetCounts, limits: BudgetLimits): BudgetVerdict {
  if (c.tenantTokens >= limits.tenantTokensPerDay) return { ok: false, scope: 'workspace', per: 'day' };
  if (c.userTokens >= limits.userTokensPerDay) return { ok: false, scope: 'user', per: 'day' };
  if (c.tenantRequests > limits.tenantRequestsPerMinute) return { ok: false, scope: 'workspace', per: 'minute' };
  if (c.userRequests > limits.userRequestsPerMinute) return { ok: false, scope: 'user', per: 'minute' };
  return { ok: true };
}

export function createRedisBudget(redis: Redis, opts: { prefix?: string; now?: () => Date } = {}): Budget {
  const p = `${opts.prefix ?? 'hoist'}:llm`;
  const now = opts.now ?? (() => new Date());
  const minute = () => Math.floor(now().getTime() / 60_000);
  const day = () => now().toISOString().slice(0, 10);
  return {
    async count(who) {
      const m = minute();
      const d = day();
      const r = await redis.multi()
        .incr(`${p}:rpm:t:${who.tenant}:${m}`).expire(`${p}:rpm:t:${who.tenant}:${m}`, 120)
        .incr(`${p}:rpm:u:${who.user}:${m}`).expire(`${p}:rpm:u:${who.user}:${m}`, 120)
        .get(`${p}:tok:t:${who.tenant}:${d}`).get(`${p}:tok:u:${who.user}:${d}`)
        .exec();
      if (!r) throw new Error('budget transaction aborted');
      for (const [err] of r) if (err) throw err;
      const v = r.map(([, x]) => Number(x ?? 0));
      return { tenantRequests: v[0]!, userRequests: v[2]!, tenantTokens: v[4]!, userTokens: v[5]! };
    },
    async charge(who, tokens) {
      if (tokens <= 0) return;
      const d = day();
      const ttl = 2 * 86_400;
      await redis.multi()
        .incrby(`${p}:tok:t:${who.tenant}:${d}`, tokens).expire(`${p}:tok:t:${who.tenant}:${d}`, ttl)
        .incrby(`${p}:tok:u:${who.user}:${d}`, tokens).expire(`${p}:tok:u:${who.user}:${d}`, ttl)
        .exec();
    },
  };
}
