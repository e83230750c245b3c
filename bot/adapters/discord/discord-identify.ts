/**
 * Identify guard. Discord allows one IDENTIFY per 5 s (per max_concurrency bucket) and
 * resets a bot's token after 1000 identifies in 24 h, so a crash-looping process must not
 * identify on every start. Every identify — the first one of a process and any re-identify
 * after a session could not be resumed — passes `waitForIdentify`, which reads the persisted
 * identify history (Redis, shared by every instance and surviving restarts), waits as long
 * as the policy says, then records the new identify. Resumes never pass here: they cost
 * nothing against the budget.
 *
 * Policy (`identifyDelay`): ≥ 5 s after the previous identify; once `freeInWindow`
 * identifies happened within `windowMs`, exponential backoff from the last one
 * (base · 2^(n − free), capped at `maxMs`); at `dailyBudget` identifies in 24 h, wait until
 * the oldest leaves the day; when Discord's own session_start_limit is nearly spent, wait
 * for its reset.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/types.ts';

export interface IdentifyLog {
  /** Identify times (epoch ms) of the last 24 h, any order. */
  recent(): Promise<number[]>;
  record(at: number): Promise<void>;
}

export interface IdentifyPolicy {
  minGapMs: number;
  windowMs: number;
  freeInWindow: number;
  baseMs: number;
  maxMs: number;
  /** Below Discord's 1000 a day, leaving room for a human to log in and fix things. */
  dailyBudget: number;
}

export const DEFAULT_IDENTIFY_POLICY: IdentifyPolicy = {
  minGapMs: 5_000,
  windowMs: 10 * 60_000,
  freeInWindow: 2,
  baseMs: 15_000,
  maxMs: 15 * 60_000,
  dailyBudget: 900,
};

const DAY_MS = 24 * 3600_000;

export interface SessionStartLimit { remaining: number; reset_after: number }

export function identifyDelay(history: number[], now: number, p: IdentifyPolicy = DEFAULT_IDENTIFY_POLICY, limit?: SessionStartLimit): { waitMs: number; reason: string } {
  const day = history.filter((t) => t > now - DAY_MS && t <= now).sort((a, b) => a - b);
  const last = day.at(-1);
  let waitMs = 0;
  let reason = 'none';
  const consider = (ms: number, why: string) => { if (ms > waitMs) { waitMs = ms; reason = why; } };
  if (last !== undefined) {
    consider(last + p.minGapMs - now, 'one identify per 5 s');
    const inWindow = day.filter((t) => t > now - p.windowMs).length;
    if (inWindow >= p.freeInWindow) {
      const backoff = Math.min(p.baseMs * 2 ** (inWindow - p.freeInWindow), p.maxMs);
      consider(last + backoff - now, `${inWindow} identifies in ${Math.round(p.windowMs / 60_000)} min (restart loop?)`);
    }
  }
  if (day.length >= p.dailyBudget) consider(day[day.length - p.dailyBudget]! + DAY_MS - now, `${day.length} identifies in 24 h`);
  if (limit && limit.remaining <= 1) consider(limit.reset_after, 'Discord session start limit nearly spent');
  return { waitMs: Math.max(0, Math.ceil(waitMs)), reason };
}

/** An `IIdentifyThrottler` for @discordjs/ws; one per client, identifies serialized. */
export class GuardedIdentifyThrottler {
  private chain: Promise<unknown> = Promise.resolve();
  /** Identifies of this process, in case the log is unreachable. */
  private readonly mine: number[] = [];

  constructor(
    private readonly log: IdentifyLog,
    private readonly logger: Logger,
    private readonly policy: IdentifyPolicy = DEFAULT_IDENTIFY_POLICY,
    private readonly limit?: SessionStartLimit,
    private readonly now: () => number = Date.now,
  ) {}

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const run = this.chain.then(() => this.one(shardId, signal));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async one(shardId: number, signal: AbortSignal): Promise<void> {
    let history: number[];
    try {
      // A Set: this process's own identifies are usually in the log already.
      history = [...new Set([...(await this.log.recent()), ...this.mine])];
    } catch (e) {
      this.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'discord.identify_log_unreadable');
      history = [...this.mine];
    }
    const { waitMs, reason } = identifyDelay(history, this.now(), this.policy, this.limit);
    if (waitMs > 0) {
      const level = waitMs >= this.policy.baseMs ? 'warn' : 'debug';
      this.logger[level]({ shard: shardId, waitMs, reason }, 'discord.identify_backoff');
      await sleep(waitMs, undefined, { signal });
    }
    const at = this.now();
    this.mine.push(at);
    await this.log.record(at).catch((e: unknown) => this.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'discord.identify_log_unwritable'));
    this.logger.info({ shard: shardId }, 'discord.identify');
  }
}
