/**
 * Crash safety: the workers run in a child process that is killed with SIGKILL at an exact
 * step (HOIST_TEST_PAUSE_AT), then a new process is started. BullMQ's stalled-job recovery
 * hands the job to it, and the processor's idempotence must give exactly one running
 * deployment and exactly one result message in the thread.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployments } from '../../db/schema/index.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';
import { TEST_REDIS_URL } from '../fixtures/services.ts';

let h: Awaited<ReturnType<typeof startHarness>>;
const children: ChildProcess[] = [];

async function startWorkerProcess(pauseAt?: string, pauseDir?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/worker-proc.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: {
      ...process.env, DATABASE_URL: h.fx.url, REDIS_URL: TEST_REDIS_URL, BULL_PREFIX: h.prefix,
      HOIST_MASTER_KEY: h.services.masterKey.toString('base64'),
      ...(pauseAt ? { HOIST_TEST_PAUSE_AT: pauseAt, HOIST_TEST_PAUSE_DIR: pauseDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
  return child;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const resultsFor = (id: string) => h.chat.said.filter((s) => s.op === 'post' && /^[✅❌]/.test(s.text) && s.text.includes(id.slice(4)));

beforeAll(async () => {
  h = await startHarness({ workers: false });
  await demoImage(h.docker, '1');
  await demoImage(h.docker, '2', { page: 'Hello from Hoist demo 2\n' });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.stop();
});

describe('kill -9 of the worker mid-rollout', () => {
  it.each([
    ['after-create', 'web', 'hoist-demo/httpd:1', 'created'],
    ['after-start', 'web', 'hoist-demo/httpd:2', 'running'],
  ])('killed %s → one running deployment and one result after restart', async (step, app, image, stateAtKill) => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-pause-'));
    const first = await startWorkerProcess(step, dir);
    const id = await h.propose('alice', `deploy ${app} image ${image} port 8080`);
    await h.decide('alice', 'approve', id);
    await until(() => existsSync(join(dir, `${step}.reached`)));
    await kill9(first);

    const dep = `dep-${id.slice(4)}`;
    const mine = async () => (await h.containers()).filter((c) => c.Labels['hoist.deployment'] === dep);
    const atKill = await mine();
    expect(atKill.map((c) => c.State)).toEqual([stateAtKill]);
    expect(resultsFor(id)).toHaveLength(0);

    await startWorkerProcess();
    const m = await h.chat.waitFor(new RegExp(`✅ ${app} is running on :(\\d+) .*deployment ${dep}`), 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate result would arrive by now
    expect(resultsFor(id)).toHaveLength(1);
    const after = await mine();
    expect(after.map((c) => c.State)).toEqual(['running']);
    // Killed after start: the same container kept running (not recreated).
    if (stateAtKill === 'running') expect(after[0]!.Id).toBe(atKill[0]!.Id);
    const appContainers = (await h.containers()).filter((c) => c.Labels['hoist.app'] === app);
    expect(appContainers).toHaveLength(1);
    const rows = await h.fx.dbh.db.select().from(deployments).where(eq(deployments.id, dep));
    expect(rows.map((r) => r.status)).toEqual(['succeeded']);
    expect((await h.bot.store.getAction(id))?.status).toBe('succeeded');
    const res = await fetch(`http://127.0.0.1:${m[1]}/`);
    expect(await res.text()).toContain('Hello from Hoist demo');
    for (const c of children) if (c.exitCode === null && c.signalCode === null) await kill9(c);
  });
});
