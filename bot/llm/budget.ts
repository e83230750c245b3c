/**
 * The LLM parser's state in Redis: per-tenant and per-user budgets, requests per minute
 * (fixed one-minute windows) and tokens per UTC day, and each thread's last few redacted,
 * depersonalized messages (the context sent with free text). Keys carry pseudonyms (HMAC),
 * never a user, tenant, channel or thread id.
 *
 * `begin` is the one round trip a request makes before it is sent: one script counts it
 * against both budgets, reads today's tokens and reads the thread's context. It runs in
 * parallel with the tenant's (cached) settings and apps, which hold the limits it is judged
 * against (`judge`). `charge` adds the tokens the API reported and `remember` appends a
 * message to its thread; both run after the reply, off its path. A budget check that cannot
 * reach Redis fails closed: the caller answers with the offline commands.
 *
 * Thread context lives here rather than in PostgreSQL: it is read in the round trip the
 * budget needs anyway, every bot process sees the same threads, and it expires by itself
 * once it stops being context (THREAD_WINDOW_MS). It holds what the llm_thread_messages
 * rows held: text after redaction (secrets are placeholders) and pseudonymization (people
 * are ⟦user:<pseudonym>⟧ tokens), so `privacy forget me` has no raw id to find in it.
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

/** Pseudonyms: the tenant's, the user's and (for context) the thread's. */
export interface Who {
  tenant: string;
  user: string;
}

/** One earlier message of a thread: its speaker's pseudonym and its depersonalized text. */
export interface ThreadEntry {
  speaker: string;
  text: string;
  /** Epoch ms, by the parser's clock. */
  at: number;
}

export interface LlmState {
  /**
   * One round trip: counts this request, reads the totals and, when `thread` is given, the
   * thread's last `limit` messages written at or after `since` (epoch ms), oldest first.
   */
  begin(who: Who, thread: { key: string; since: number; limit: number } | undefined): Promise<{ counts: BudgetCounts; history: ThreadEntry[] }>;
  charge(who: Who, tokens: number): Promise<void>;
  /** Appends to a thread, keeping its last `keep` messages; the thread expires `ttlMs` after its last message. */
  remember(thread: string, entry: ThreadEntry, o: { keep: number; ttlMs: number }): Promise<void>;
}

export function judge(c: BudgetCounts, limits: BudgetLimits): BudgetVerdict {
  if (c.tenantTokens >= limits.tenantTokensPerDay) return { ok: false, scope: 'workspace', per: 'day' };
  if (c.userTokens >= limits.userTokensPerDay) return { ok: false, scope: 'user', per: 'day' };
  if (c.tenantRequests > limits.tenantRequestsPerMinute) return { ok: false, scope: 'workspace', per: 'minute' };
  if (c.userRequests > limits.userRequestsPerMinute) return { ok: false, scope: 'user', per: 'minute' };
  return { ok: true };
}

function entriesOf(raw: unknown, since: number): ThreadEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: ThreadEntry[] = [];
  for (const s of raw) {
    try {
      const e = JSON.parse(String(s)) as Partial<ThreadEntry>;
      if (typeof e.speaker === 'string' && typeof e.text === 'string' && typeof e.at === 'number' && e.at >= since) out.push({ speaker: e.speaker, text: e.text, at: e.at });
    } catch { /* not ours: skipped */ }
  }
  return out;
}

/**
 * Each operation is one Lua script: one command written to the socket instead of a MULTI of
 * five to seven (every message is remembered, so this is on every message's CPU bill), and
 * just as atomic.
 */
const BEGIN = `
local tr = redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 120)
local ur = redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], 120)
local tt = redis.call('GET', KEYS[3]) or '0'
local ut = redis.call('GET', KEYS[4]) or '0'
local h = {}
if #KEYS > 4 then h = redis.call('LRANGE', KEYS[5], -tonumber(ARGV[1]), -1) end
return {tr, ur, tt, ut, h}`;
const CHARGE = `
redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1]); redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;
const REMEMBER = `
redis.call('RPUSH', KEYS[1], ARGV[1]); redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1); redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

type Scripted = Redis & {
  hoistLlmBegin(n: number, ...a: (string | number)[]): Promise<[number, number, string, string, string[]]>;
  hoistLlmCharge(n: number, ...a: (string | number)[]): Promise<number>;
  hoistLlmRemember(n: number, ...a: (string | number)[]): Promise<number>;
};

function scripted(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.hoistLlmBegin !== 'function') {
    redis.defineCommand('hoistLlmBegin', { lua: BEGIN });
    redis.defineCommand('hoistLlmCharge', { lua: CHARGE });
    redis.defineCommand('hoistLlmRemember', { lua: REMEMBER });
  }
  return r;
}

export function createRedisLlmState(redis: Redis, opts: { prefix?: string; now?: () => Date } = {}): LlmState {
  const p = `${opts.prefix ?? 'hoist'}:llm`;
  const now = opts.now ?? (() => new Date());
  const minute = () => Math.floor(now().getTime() / 60_000);
  const day = () => now().toISOString().slice(0, 10);
  const ctxKey = (thread: string) => `${p}:ctx:${thread}`;
  const r = scripted(redis);
  return {
    async begin(who, thread) {
      const m = minute();
      const d = day();
      const keys = [`${p}:rpm:t:${who.tenant}:${m}`, `${p}:rpm:u:${who.user}:${m}`, `${p}:tok:t:${who.tenant}:${d}`, `${p}:tok:u:${who.user}:${d}`];
      if (thread) keys.push(ctxKey(thread.key));
      const [tr, ur, tt, ut, h] = await r.hoistLlmBegin(keys.length, ...keys, thread?.limit ?? 0);
      return {
        counts: { tenantRequests: Number(tr), userRequests: Number(ur), tenantTokens: Number(tt ?? 0), userTokens: Number(ut ?? 0) },
        history: thread ? entriesOf(h, thread.since) : [],
      };
    },
    async charge(who, tokens) {
      if (tokens <= 0) return;
      const d = day();
      await r.hoistLlmCharge(2, `${p}:tok:t:${who.tenant}:${d}`, `${p}:tok:u:${who.user}:${d}`, tokens, 2 * 86_400);
    },
    async remember(thread, entry, o) {
      await r.hoistLlmRemember(1, ctxKey(thread), JSON.stringify(entry), o.keep, o.ttlMs);
    },
  };
}
