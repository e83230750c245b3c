/**
 * Graceful shutdown for `hoist start|bot|workers` (bot/cli.ts). Contract:
 * - `untilSignal()` resolves on the first SIGTERM or SIGINT; a second one while shutting
 *   down exits at once with code 130 (an operator who presses Ctrl-C twice means it).
 * - `shutdown(steps, graceMs)` runs the steps in order — drain (not ready, no new work),
 *   workers (running jobs finish), bot (results posted, chat closed), services — each
 *   bounded by what is left of the grace period. A step that overruns is abandoned, logged,
 *   and the next one runs: a job still running then is left to BullMQ's stalled-job
 *   recovery on another worker (its lock simply expires), which the processor absorbs.
 *   Resolves true when every step finished in time.
 */
import type { Logger } from '../core/types.ts';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

/** Kubernetes sends SIGKILL 30 s after SIGTERM by default; finish before that. */
export const DEFAULT_GRACE_MS = 25_000;

export function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals) => {
      if (seen) {
        logger.warn({ signal: sig }, 'shutdown.forced_by_second_signal');
        process.exit(130);
      }
      seen = true;
      logger.info({ signal: sig }, 'shutdown.begin');
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export async function shutdown(steps: ShutdownStep[], graceMs: number, logger: Logger): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  let clean = true;
  for (const step of steps) {
    const left = Math.max(deadline - Date.now(), 500);
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      step.run().then(() => 'done' as const, (e: unknown) => {
        logger.error({ step: step.name, err: e instanceof Error ? e.message : String(e) }, 'shutdown.step_failed');
        return 'failed' as const;
      }),
      new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), left); }),
    ]);
    clearTimeout(timer);
    if (outcome !== 'done') clean = false;
    if (outcome === 'timeout') logger.warn({ step: step.name, ms: left }, 'shutdown.step_timed_out');
    else logger.info({ step: step.name, ms: Date.now() - t0 }, 'shutdown.step_done');
  }
  return clean;
}
