/**
 * Our own retries (the SDK's are off): at most `maxAttempts` tries within one overall
 * deadline, on 429, 529, other 5xx and refused connections. The wait honours the server's
 * retry-after-ms / retry-after when it fits the deadline, otherwise full jitter on an
 * exponential base — so many bots hitting one overloaded API do not retry in lockstep.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';

export interface RetryOptions {
  deadlineMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export type Failure =
  | { kind: 'timeout' }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'overloaded'; status: number }
  | { kind: 'rejected'; status: number; detail: string };

export class LlmCallFailed extends Error {
  constructor(readonly failure: Failure, readonly attempts: number) {
    super(`llm call failed: ${failure.kind}`);
  }
}

const retryable = (status: number) => status === 429 || status === 529 || status >= 500;

/** Milliseconds the server asked us to wait, if it said. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const s = headers?.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Math.max(0, Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function classify(e: unknown): { failure: Failure; retry: boolean; wait?: number } {
  if (e instanceof APIConnectionTimeoutError || e instanceof APIUserAbortError) return { failure: { kind: 'timeout' }, retry: false };
  if (e instanceof APIConnectionError) return { failure: { kind: 'unreachable', detail: e.message }, retry: true };
  if (e instanceof APIError && typeof e.status === 'number') {
    if (retryable(e.status)) return { failure: { kind: 'overloaded', status: e.status }, retry: true, wait: retryAfterMs(e.headers) };
    return { failure: { kind: 'rejected', status: e.status, detail: e.type ?? 'error' }, retry: false };
  }
  throw e; // a bug on our side, not the network: let it surface
}

/** Runs `attempt(timeoutMs)` until it succeeds, fails for good, or the deadline passes. */
export async function withRetries<T>(attempt: (timeoutMs: number) => Promise<T>, o: RetryOptions): Promise<{ value: T; attempts: number }> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const deadline = now() + o.deadlineMs;
  for (let n = 1; ; n++) {
    const left = deadline - now();
    if (left <= 0) throw new LlmCallFailed({ kind: 'timeout' }, n - 1);
    try {
      return { value: await attempt(left), attempts: n };
    } catch (e) {
      const c = classify(e);
      if (!c.retry || n >= o.maxAttempts) throw new LlmCallFailed(c.failure, n);
      const backoff = random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (n - 1));
      // The server's wait is a floor; a little jitter on top keeps retries from arriving together.
      const wait = c.wait !== undefined ? c.wait + random() * Math.min(100, c.wait * 0.2) : backoff;
      // Waiting past the deadline only delays the same answer: give up now.
      if (now() + wait >= deadline) throw new LlmCallFailed(c.failure, n);
      await sleep(wait);
    }
  }
}
