/**
 * Reads have their own lane (QUEUES.reads, HOIST_READ_CONCURRENCY): with every change slot
 * (HOIST_WORKER_CONCURRENCY, 4) held by rollouts, `status` is still answered at once; and a
 * burst of concurrent statuses shares fresh engine lists (workers/deploy/coalesce.ts) instead
 * of one list call each. Real PostgreSQL, Redis and Docker; the rollouts are held at the
 * engine boundary (the real DockerDeployer runs once the gate opens).
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../db/audit.ts';
import type { Deployer } from '../../workers/deploy/deployer.ts';
import { DockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';

let release: () => void = () => undefined;
const gate = new Promise<void>((r) => { release = r; });
let held = 0;
let statusCalls = 0;
let slowStatus = 0;
const real = new DockerDeployer(new Dockerode());
const deployer = new Proxy(real, {
  get(t, k) {
    if (k === 'deploy') return async (...a: Parameters<Deployer['deploy']>) => { held++; await gate; return t.deploy(...a); };
    if (k === 'status') {
      return async (...a: Parameters<Deployer['status']>) => {
        statusCalls++;
        if (slowStatus) await new Promise((r) => setTimeout(r, slowStatus));
        return t.status(...a);
      };
    }
    const v = Reflect.get(t, k, t) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
  },
}) as Deployer;

let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness({ deployer });
  await demoImage(h.docker, '1');
});
afterAll(async () => { release(); await h?.stop(); });

const waitUntil = async (cond: () => boolean, ms = 30_000) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('the reads lane', () => {
  it('answers status while all four change slots are held by rollouts, then the rollouts finish', async () => {
    const ids: string[] = [];
    for (const app of ['a1', 'a2', 'a3', 'a4']) {
      const id = await h.propose('alice', `deploy ${app} image hoist-demo/httpd:1 port 8080`);
      await h.decide('bob', 'approve', id);
      ids.push(id);
    }
    await waitUntil(() => held === 4);
    const before = h.chat.said.length;
    await h.say('alice', 'status');
    // The apps' rows are written by their (held) rollouts: nothing runs yet, and status says so.
    await h.chat.waitFor(/^✅ No apps yet\./m, 15_000);
    expect(held).toBe(4); // the rollouts are still held: the answer did not wait for a change slot
    expect(h.chat.said.slice(before).some((s) => /is running on/.test(s.text))).toBe(false);
    for (const id of ids) expect((await h.bot.store.getAction(id))?.status).toBe('running');

    release();
    for (const app of ['a1', 'a2', 'a3', 'a4']) await h.chat.waitFor(new RegExp(`✅ ${app} is running on :\\d+`), 90_000);
    expect((await verifyAudit(h.fx.dbh.db, h.tenantId)).ok).toBe(true);
  }, 150_000);

  it('a burst of concurrent statuses is answered once each, from fewer engine lists than requests', async () => {
    slowStatus = 150;
    statusCalls = 0;
    const before = h.chat.said.length;
    const n = 12;
    await Promise.all(Array.from({ length: n }, () => h.say('alice', 'status')));
    await waitUntil(() => h.chat.said.slice(before).filter((s) => /^✅ Status:/.test(s.text)).length >= n);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate answer would arrive by now
    const answers = h.chat.said.slice(before).filter((s) => /^✅ Status:/.test(s.text));
    expect(answers).toHaveLength(n);
    for (const a of answers) for (const app of ['a1', 'a2', 'a3', 'a4']) expect(a.text).toContain(`${app} `);
    expect(statusCalls).toBeGreaterThan(0);
    expect(statusCalls).toBeLessThan(n);
    slowStatus = 0;
  }, 60_000);
});
