/**
 * TEST-ONLY pause points, so a crash test can `kill -9` a worker at an exact step.
 * With HOIST_TEST_PAUSE_AT=<step> and HOIST_TEST_PAUSE_DIR=<dir> (read in bot/config.ts,
 * wired in workers/main.ts), the worker writes `<dir>/<step>.reached` when it gets there and
 * then waits until `<dir>/<step>.go` exists. Unset (always, outside tests) it is a no-op.
 * Steps: after-create (replica created, not started), after-start (rollout done, result
 * not yet recorded or reported).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINTS = ['after-create', 'after-start'] as const;
export type CheckpointStep = (typeof CHECKPOINTS)[number];
export type Checkpoint = (step: CheckpointStep) => Promise<void>;

export const noCheckpoint: Checkpoint = async () => undefined;

export function fileCheckpoint(pauseAt: CheckpointStep | undefined, dir: string | undefined): Checkpoint {
  if (!pauseAt || !dir) return noCheckpoint;
  return async (step) => {
    if (step !== pauseAt) return;
    writeFileSync(join(dir, `${step}.reached`), String(process.pid));
    while (!existsSync(join(dir, `${step}.go`))) await new Promise((r) => setTimeout(r, 50));
  };
}
