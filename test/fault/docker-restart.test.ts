/**
 * F10 for real: the Docker engine itself restarts mid-rollout. The shared dockerd cannot be
 * restarted (other suites' containers run on it), so this test runs a PRIVATE dockerd
 * (test/fixtures/private-services.ts startPrivateDocker) and the workers (a child process,
 * test/fault/worker-proc.ts) use it through DOCKER_HOST.
 *
 * Scene: app rs1 runs (demo 1). Then three rollouts are approved: rs1 → demo 2, a new rs2,
 * and a new rs3 with two replicas. Each pauses right after creating its first replica
 * (HOIST_TEST_PAUSE_AT=after-create). dockerd is SIGKILLed (its containerd dies with it);
 * while it is down the rollouts are let go, so each one's next engine call fails (the
 * test waits until every job has a failed attempt); ~2 s after the kill dockerd starts
 * again on the same data-root. Coming back without live-restore it kills whatever was
 * running (rs1's demo-1 replica stays exited) and keeps the created-but-never-started
 * replicas. BullMQ retries the jobs (docker_unreachable is retryable) and each re-run
 * converges on what the engine now holds.
 *
 * Asserted: the fault-test invariant; every rollout succeeded (the engine is back within
 * the job's retries) with one readable result line; the tenant's containers are exactly the
 * running replicas of each app's current deployment (the killed and the never-started ones
 * were replaced, rs1's old one retired); each app serves its new page on its stable port
 * and on every replica's own port; and a fresh deploy after the restart succeeds without
 * restarting anything of Hoist.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Dockerode from 'dockerode';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUES } from '../../workers/contract/jobs.ts';
import { deploymentIdFor } from '../../workers/deploy/actions.ts';
import { demoImage } from '../fixtures/images.ts';
import { startPrivateDocker, type PrivateDocker } from '../fixtures/private-services.ts';
import { rowsOf, sleep, startFault, until, type FaultHarness } from './fault-harness.ts';

let engine: PrivateDocker | undefined;
let h: FaultHarness | undefined;
let docker: Dockerode;
let worker: ChildProcess;
let jobs: Queue | undefined;
let images: { v1: string; v2: string };
const pauseDir = mkdtempSync(join(tmpdir(), 'hoist-pause-'));
const go = join(pauseDir, 'after-create.go');

beforeAll(async () => {
  engine = await startPrivateDocker();
  h = await startFault({ workers: false, dockerHost: engine.host });
  docker = new Dockerode({ socketPath: engine.socketPath });
  images = { v1: await demoImage(docker, '1'), v2: await demoImage(docker, '2') };
  writeFileSync(go, ''); // no pause until the scene needs one
  worker = await h.spawnWorker({ DOCKER_HOST: engine.host, HOIST_TEST_PAUSE_AT: 'after-create', HOIST_TEST_PAUSE_DIR: pauseDir });
  jobs = new Queue(QUEUES.actions, { connection: { host: '127.0.0.1', port: h.redis.port }, prefix: h.prefix });
});

afterAll(async () => {
  // Each step on its own: a failed one must not leave the private dockerd running.
  await jobs?.close().catch(() => undefined);
  await h?.stop().catch(() => undefined);
  await engine?.stop();
  rmSync(pauseDir, { recursive: true, force: true });
});

const tenantContainers = () => docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${h!.tenantId}`] } });

async function currentDeployments(): Promise<Map<string, { dep: string | null; replicas: number }>> {
  const rows = rowsOf<{ name: string; dep: string | null; replicas: number }>(await h!.dbh.db.execute(
    sql`select name, current_deployment_id as dep, replicas from apps where tenant_id = ${h!.tenantId}`));
  return new Map(rows.map((r) => [r.name, { dep: r.dep, replicas: r.replicas }]));
}

/** The ✅/❌ line of an action's thread (the invariant checks there is exactly one). */
function resultOf(thread: string | null): string {
  return h!.chat.said.find((s) => s.op === 'post' && s.conv.threadId === thread && /^[✅❌]/.test(s.text))?.text ?? '';
}

async function page(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
  return `${res.status} ${await res.text()}`;
}

/** Every container of the tenant is a running replica of its app's current deployment, as many as the app wants. */
async function onlyCurrentReplicas(): Promise<void> {
  const current = await currentDeployments();
  const cs = await tenantContainers();
  const seen = cs.map((c) => `${c.Labels['hoist.app']} ${c.Labels['hoist.deployment']} r${c.Labels['hoist.replica']} ${c.State}`).sort();
  const want = [...current].flatMap(([app, a]) => Array.from({ length: a.replicas }, (_, i) => `${app} ${a.dep} r${i + 1} running`)).sort();
  expect(seen, 'containers of the tenant on the engine').toEqual(want);
}

it('dockerd SIGKILLed mid-rollout and started again: every action ends once, nothing half-made, deploys work afterwards', async () => {
  const hh = h!;
  const t0 = Date.now();
  // rs1 runs before the fault: its rollout to demo 2 will be an update.
  const first = await hh.propose('dev', `deploy rs1 image ${images.v1} port 8080`);
  await hh.approve('dev', first);
  await hh.waitTerminal([first], 60_000);
  expect(resultOf((await hh.actions([first]))[0]!.thread)).toMatch(/^✅ rs1 is running on :\d+/);

  // From here every rollout stops right after creating a replica.
  rmSync(go);
  rmSync(join(pauseDir, 'after-create.reached'), { force: true });
  const ids = [
    await hh.propose('dev', `deploy rs1 image ${images.v2} port 8080`),
    await hh.propose('dev', `deploy rs2 image ${images.v1} port 8080`),
    await hh.propose('dev', `deploy rs3 image ${images.v1} port 8080 replicas 2`),
  ];
  for (const id of ids) await hh.approve('dev', id);
  const deps = ids.map(deploymentIdFor);
  await until(async () => {
    const created = (await tenantContainers()).filter((c) => c.State === 'created').map((c) => c.Labels['hoist.deployment']);
    return deps.every((d) => created.includes(d)) && existsSync(join(pauseDir, 'after-create.reached'));
  }, 'all three rollouts to pause after creating their first replica', 60_000);

  // The crash. While dockerd is down the rollouts go on and hit the dead socket; the engine
  // comes back only once every job has failed an attempt, so the fault is surely felt.
  const failedOnce = async () => (await Promise.all(ids.map((id) => jobs!.getJob(id)))).every((j) => (j?.attemptsMade ?? 0) >= 1);
  await engine!.restart('SIGKILL', 2_000, async () => {
    await sleep(1_500); // part of the downtime: dockerd is gone, nothing runs against it
    writeFileSync(go, '');
    await until(failedOnce, 'every rollout to fail an attempt against the dead engine', 20_000);
  });

  await hh.waitTerminal(ids, 90_000);
  await sleep(1_500); // a duplicate result would have arrived by now
  await hh.invariants([first, ...ids]);

  const acts = await hh.actions(ids);
  for (const a of acts) {
    const text = resultOf(a.thread);
    // One readable sentence: no stack trace, no raw error object, no internals.
    expect(text, `${a.app}: ${text}`).not.toMatch(/\n\s+at |Error:|\[object|undefined|ECONN|ENOENT/);
    // The engine was back well within the retries (1 s, then 2 s more): every rollout converged.
    expect(a.status, `${a.app}: ${text} (${Date.now() - t0} ms in)`).toBe('succeeded');
    expect(text).toMatch(new RegExp(`^✅ ${a.app} is running on :\\d+ \\(hoist-demo/httpd:\\d, \\d replicas?, deployment ${deploymentIdFor(a.id)}\\)\\.$`));
  }
  await onlyCurrentReplicas();

  // Whatever reports success serves: on its stable port (the proxy in the worker) and on every replica's own port.
  const current = await currentDeployments();
  for (const a of acts) {
    const stable = Number(/ on :(\d+) /.exec(resultOf(a.thread))![1]);
    const tag = a.app === 'rs1' ? '2' : '1';
    expect(await page(stable), `${a.app} on its stable port :${stable}`).toBe(`200 Hello from Hoist demo ${tag}\n`);
    expect(current.get(a.app!)?.dep).toBe(deploymentIdFor(a.id));
    const replicas = (await tenantContainers()).filter((c) => c.Labels['hoist.app'] === a.app);
    expect(replicas).toHaveLength(a.app === 'rs3' ? 2 : 1);
    for (const c of replicas) {
      const port = c.Ports.find((p) => p.PrivatePort === 8080 && p.PublicPort)?.PublicPort;
      expect(port, `${c.Names[0]} publishes 8080`).toBeDefined();
      expect(await page(port!)).toBe(`200 Hello from Hoist demo ${tag}\n`);
    }
  }

  // The bot and workers carry on against the restarted engine: a fresh deploy succeeds.
  const again = await hh.propose('dev', `deploy rs2 image ${images.v2} port 8080`);
  await hh.approve('dev', again);
  await hh.waitTerminal([again], 60_000);
  await sleep(1_000);
  await hh.invariants([first, ...ids, again]);
  const [last] = await hh.actions([again]);
  expect(last!.status, resultOf(last!.thread)).toBe('succeeded');
  const stable = Number(/^✅ rs2 is running on :(\d+) /.exec(resultOf(last!.thread))![1]);
  expect(await page(stable)).toBe('200 Hello from Hoist demo 2\n');
  await onlyCurrentReplicas();
  expect(worker.exitCode, 'the worker process was never restarted').toBeNull();
});
