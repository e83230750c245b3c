/**
 * "privacy forget me", the Redis part (db/privacy/forget.ts does PostgreSQL). Scans every key
 * Hoist owns — BullMQ's keys of Hoist's queues (`<bullmq prefix>:hoist-*`: job data, return
 * values, failure reasons, progress, job logs, event streams) and Hoist's own
 * (`<hoist prefix>:*`) — for the user's raw id: the full `platform:id`, and the bare platform
 * id as a whole word (how mentions show it) when it looks like one (6+ characters with a
 * digit: Slack and Discord ids; a bare console name such as `wait` could name a BullMQ key
 * or option and is matched only in full). Where a value holds it, the id becomes the
 * tenant's pseudonym in place, so pending jobs still run; stream entries that name it are
 * deleted (a stream entry cannot be edited); a key whose name holds it is deleted.
 * Jobs of other tenants (their data names another tenantId) are left alone.
 * Not atomic with writers: a job that finishes during the scan keeps what it writes then.
 */
import { Redis } from 'ioredis';

export interface RedisForgetOptions {
  redisUrl: string;
  /** BullMQ prefix (tests use one per run; BullMQ's default otherwise) — Hoist's own keys use it too, else `hoist`. */
  prefix?: string;
}

export type ForgetRedis = (tenantId: string, userId: string, pseudonym: string) => Promise<number>;

const bareId = (userId: string) => (userId.includes(':') ? userId.slice(userId.indexOf(':') + 1) : userId);
/** Fields of a BullMQ job hash that carry Hoist's content; the rest (name, opts, timestamps) is BullMQ's own. */
const JOB_FIELDS = new Set(['data', 'returnvalue', 'failedReason', 'stacktrace', 'progress']);
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

export function createRedisForget(o: RedisForgetOptions): ForgetRedis {
  const bullPrefix = o.prefix ?? 'bull';
  const hoistPrefix = o.prefix ?? 'hoist';
  // Every Hoist queue is named hoist-… (QUEUES, and the workers' maintenance queue).
  const queuePattern = `${globEscape(bullPrefix)}:hoist-*`;
  const jobKey = new RegExp(`^${reEscape(bullPrefix)}:hoist-[a-z-]+:[^:]+$`);

  return async (tenantId, userId, pseudonym) => {
    const bare = bareId(userId);
    const word = bare.length >= 6 && /\d/.test(bare) ? new RegExp(`(?<![A-Za-z0-9_])${reEscape(bare)}(?![A-Za-z0-9_])`, 'g') : undefined;
    const holds = (s: string) => s.includes(userId) || (word !== undefined && new RegExp(word.source).test(s));
    const swap = (s: string) => {
      const full = s.split(userId).join(pseudonym);
      return word ? full.replace(word, pseudonym) : full;
    };
    const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    redis.on('error', () => undefined); // a failure surfaces as the rejected command below
    let changed = 0;
    try {
      await redis.connect();
      const keys = new Set<string>();
      for (const pattern of new Set([queuePattern, `${globEscape(hoistPrefix)}:*`])) {
        let cursor = '0';
        do {
          const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          for (const k of found) keys.add(k);
        } while (cursor !== '0');
      }
      for (const key of keys) {
        if (holds(key)) {
          changed += await redis.del(key);
          continue;
        }
        if (await scrub(redis, key, { tenantId, holds, swap, isJob: jobKey.test(key) })) changed++;
      }
    } finally {
      redis.disconnect();
    }
    return changed;
  };
}

interface Scrub { tenantId: string; holds(s: string): boolean; swap(s: string): string; isJob: boolean }

/** Rewrites one key's values that hold the id; true when something changed. */
async function scrub(redis: Redis, key: string, x: Scrub): Promise<boolean> {
  switch (await redis.type(key)) {
    case 'string': {
      const v = await redis.get(key);
      if (v === null || !x.holds(v)) return false;
      const ttl = await redis.pttl(key);
      if (ttl > 0) await redis.set(key, x.swap(v), 'PX', ttl);
      else await redis.set(key, x.swap(v));
      return true;
    }
    case 'hash': {
      const h = await redis.hgetall(key);
      const hit = Object.entries(h).filter(([f, v]) => (!x.isJob || JOB_FIELDS.has(f)) && x.holds(v));
      if (hit.length === 0) return false;
      if (x.isJob && h.data && jobTenant(h.data) !== undefined && jobTenant(h.data) !== x.tenantId) return false;
      await redis.hset(key, Object.fromEntries(hit.map(([f, v]) => [f, x.swap(v)])));
      return true;
    }
    case 'list': {
      const items = await redis.lrange(key, 0, -1);
      let hit = false;
      for (const [i, v] of items.entries()) {
        if (!x.holds(v)) continue;
        await redis.lset(key, i, x.swap(v));
        hit = true;
      }
      return hit;
    }
    case 'set': {
      const hit = (await redis.smembers(key)).filter(x.holds);
      for (const v of hit) await redis.multi().srem(key, v).sadd(key, x.swap(v)).exec();
      return hit.length > 0;
    }
    case 'zset': {
      const flat = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      let hit = false;
      for (let i = 0; i < flat.length; i += 2) {
        const v = flat[i]!;
        if (!x.holds(v)) continue;
        await redis.multi().zrem(key, v).zadd(key, flat[i + 1]!, x.swap(v)).exec();
        hit = true;
      }
      return hit;
    }
    case 'stream': {
      const ids = (await redis.xrange(key, '-', '+')).filter(([, fields]) => fields.some(x.holds)).map(([id]) => id);
      if (ids.length) await redis.xdel(key, ...ids);
      return ids.length > 0;
    }
    default:
      return false;
  }
}

function jobTenant(data: string): string | undefined {
  try {
    const t = (JSON.parse(data) as { tenantId?: unknown })?.tenantId;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}
