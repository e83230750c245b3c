/**
 * Crashes of the workers process, which runs the job processor and the outbox relay:
 * F1 `kill -9` mid-rollout (paused right after the container was created), and F15 the
 * relay killed between publishing a job and stamping its outbox row. Workers run as child
 * processes (test/fault/worker-proc.ts) against private PostgreSQL and Redis.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoImage } from '../fixtures/images.ts';
import { rowsOf, startFault, until, type FaultHarness } from './fault-harness.ts';

let h: FaultHarness;
let image: string;

const kill9 = (c: ChildProcess) => new Promise<void>((r) => {
  if (c.exitCode !== null || c.signalCode !== null) return r();
  c.once('exit', () => r());
  c.kill('SIGKILL');
});

beforeAll(async () => {
  h = await startFault({ workers: false });
  image = await demoImage(h.docker, '1');
});

afterAll(async () => {
  await h?.stop();
});

it('kill -9 of a worker mid-rollout: a new worker finishes it once, one container, one result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-pause-'));
  const first = await h.spawnWorker({ HOIST_TEST_PAUSE_AT: 'after-create', HOIST_TEST_PAUSE_DIR: dir });
  const id = await h.propose('dev', `deploy kc image ${image} port 8080`);
  await h.approve('dev', id);
  await until(() => existsSync(join(dir, 'after-create.reached')), 'the rollout to reach after-create');
  await kill9(first);
  expect((await h.bot.store.getAction(id))?.status).toBe('running');

  const second = await h.spawnWorker();
  await h.waitTerminal([id]);
  await new Promise((r) => setTimeout(r, 1500)); // a duplicate result would have arrived by now
  await h.invariants([id]);
  expect((await h.bot.store.getAction(id))?.status).toBe('succeeded');
  const cs = await h.docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${h.tenantId}`, 'hoist.app=kc'] } });
  expect(cs.map((c) => c.State)).toEqual(['running']);
  await kill9(second);
});

it('a relay killed between publish and stamp: the row is published again, the action runs once', async () => {
  // The approval commits (action + outbox row) and the bot dies before its fast-path enqueue:
  // only the relay can bring this action to Redis.
  const id = await h.propose('dev', 'deploy kr image ' + image + ' port 8080');
  const won = await h.bot.store.approveAction(id, h.tenantId, 'console:dev', new Date());
  expect(won?.status).toBe('approved');

  const crashing = await h.spawnWorker({ FAULT_RELAY_CRASH: '1' });
  await new Promise<void>((r) => { if (crashing.exitCode !== null || crashing.signalCode !== null) r(); else crashing.once('exit', () => r()); });
  expect(crashing.signalCode).toBe('SIGKILL');
  const row = rowsOf<{ published_at: Date | null; attempts: number }>(await h.dbh.db.execute(sql`select published_at, attempts from outbox where action_id = ${id}`));
  expect(row[0]?.published_at).toBeNull(); // the stamp died with the relay…

  const worker = await h.spawnWorker();
  await h.waitTerminal([id]);
  await until(async () => rowsOf<{ published_at: Date | null }>(await h.dbh.db.execute(sql`select published_at from outbox where action_id = ${id}`))[0]?.published_at != null, 'the outbox row to be stamped');
  await new Promise((r) => setTimeout(r, 1500));
  await h.invariants([id]);
  expect((await h.bot.store.getAction(id))?.status).toBe('succeeded');
  await kill9(worker);
});
