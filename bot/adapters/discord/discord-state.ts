/**
 * The Discord adapter's shared state, kept in Redis so every instance and every restart
 * sees it: threads Hoist started or answered in (30 days), and the identify history of the
 * bot token (24 h, one sorted set) that the identify guard reads. Takes any client with the
 * few ioredis commands used (structural type: the adapter imports no infrastructure).
 */
import type { IdentifyLog } from './discord-identify.ts';
import type { ThreadMemory } from './discord-adapter.ts';

export interface RedisLike {
  set(key: string, value: string, ex: 'EX', seconds: number): Promise<unknown>;
  exists(key: string): Promise<number>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrangebyscore(key: string, min: number | string, max: number | string): Promise<string[]>;
  zremrangebyscore(key: string, min: number | string, max: number | string): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
}

/** A thread is remembered for 30 days after Hoist last spoke in it. */
const THREAD_TTL_S = 30 * 24 * 3600;
const DAY_MS = 24 * 3600_000;

export function discordState(redis: RedisLike, prefix: string, appId: string): { threads: ThreadMemory; identifyLog: IdentifyLog } {
  const threadKey = (tenant: string, thread: string) => `${prefix}:discord-thread:${tenant}:${thread}`;
  const identifyKey = `${prefix}:discord-identify:${appId}`;
  return {
    threads: {
      remember: async (tenant, thread) => { await redis.set(threadKey(tenant, thread), '1', 'EX', THREAD_TTL_S); },
      isHoistThread: async (tenant, thread) => (await redis.exists(threadKey(tenant, thread))) === 1,
    },
    identifyLog: {
      recent: async () => (await redis.zrangebyscore(identifyKey, Date.now() - DAY_MS, '+inf')).map((m) => Number(m.split(':')[0])),
      record: async (at) => {
        await redis.zadd(identifyKey, at, `${at}:${Math.random().toString(36).slice(2, 8)}`);
        await redis.zremrangebyscore(identifyKey, '-inf', at - DAY_MS);
        await redis.pexpire(identifyKey, DAY_MS);
      },
    },
  };
}
