/**
 * F5: Redis restarted with everything lost (no persistence: SIGKILL, then an empty server
 * on the same port) while 20 approved actions are queued or running. PostgreSQL holds the
 * truth: the outbox reconciler re-publishes every approved or running action Redis forgot,
 * a live rollout lease keeps a still-running deploy from being started twice, and the
 * reporter's reported_at claim keeps every thread to one result.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoImage } from '../fixtures/images.ts';
import { startFault, type FaultHarness } from './fault-harness.ts';

let h: FaultHarness;
let image: string;

beforeAll(async () => {
  h = await startFault();
  image = await demoImage(h.docker, '1');
});

afterAll(async () => {
  await h?.stop();
});

it('20 actions in flight survive a Redis restart that loses every key: each finishes once, one result each', async () => {
  const ids: string[] = [];
  // 8 deploys on 4 apps (two per app: the lease serializes them) and 12 read-only status actions.
  for (let i = 0; i < 8; i++) ids.push(await h.propose('dev', `deploy rf${i % 4} image ${image} port 8080`));
  for (const id of ids) await h.approve('dev', id);
  // Reads have their own lane and would be answered at once: hold it, so the statuses are
  // certainly queued in Redis when it dies (their jobs are lost with it).
  await h.workers!.readsWorker.pause();
  for (let i = 0; i < 12; i++) await h.say('dev', 'status');
  ids.push(...(await h.actions()).filter((a) => a.kind === 'status').map((a) => a.id));
  expect(ids).toHaveLength(20);

  // Some are running, most are waiting: now Redis dies and comes back empty.
  const inFlight = (await h.actions(ids)).filter((a) => !['succeeded', 'failed'].includes(a.status)).length;
  await h.redis.restart(300);
  h.workers!.readsWorker.resume();
  expect(inFlight).toBeGreaterThanOrEqual(12);

  await h.waitTerminal(ids, 120_000);
  await h.invariants(ids);
  const acts = await h.actions(ids);
  const failed = h.chat.said.filter((s) => s.text.startsWith("❌")).map((s) => s.text);
  expect(acts.filter((a) => a.kind === "deploy" && a.status !== "succeeded"), failed.join("\n")).toEqual([]);
  // Each app ends with exactly one running deployment.
  for (let app = 0; app < 4; app++) {
    const cs = await h.docker.listContainers({ filters: { label: [`hoist.tenant=${h.tenantId}`, `hoist.app=rf${app}`] } });
    expect(new Set(cs.map((c) => c.Labels['hoist.deployment'])).size).toBe(1);
  }
});
