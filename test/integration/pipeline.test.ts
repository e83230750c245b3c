import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployments } from '../../db/schema/index.ts';
import { verifyAudit } from '../../db/audit.ts';
import { demoImage } from '../fixtures/images.ts';
import { startHarness } from '../fixtures/harness.ts';

let h: Awaited<ReturnType<typeof startHarness>>;

beforeAll(async () => {
  h = await startHarness();
  await demoImage(h.docker, '1');
});
afterAll(async () => { await h?.stop(); });

const resultsFor = (id: string) => h.chat.said.filter((s) => s.op === 'post' && /^[✅❌]/.test(s.text) && s.text.includes(id.replace('act-', '')));

describe('pipeline against real PostgreSQL, Redis and Docker', () => {
  it('two concurrent approvals → exactly one deployment, one container, one result', async () => {
    const id = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080');
    await Promise.all([h.decide('bob', 'approve', id), h.decide('carol', 'approve', id)]);
    const m = await h.chat.waitFor(/web is running on :(\d+)/);
    const res = await fetch(`http://127.0.0.1:${m[1]}/`);
    expect(await res.text()).toMatch(/Hello from Hoist/);
    const [{ n }] = (await h.fx.dbh.db.select({ n: count() }).from(deployments).where(eq(deployments.tenantId, h.tenantId))) as [{ n: number }];
    expect(n).toBe(1);
    expect(await h.containers()).toHaveLength(1);
    const refusals = h.chat.said.filter((s) => s.op === 'notify' && s.text.includes('already approved'));
    expect(refusals).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate result would arrive by now
    expect(resultsFor(id)).toHaveLength(1);
  });

  it('refuses approval of an expired, cancelled or already-approved action with a clear sentence and no second job', async () => {
    const expired = await h.propose('alice', 'restart web');
    h.clock.offsetMs = 16 * 60_000;
    await h.decide('bob', 'approve', expired);
    h.clock.offsetMs = 0;
    await h.chat.waitFor(new RegExp(`Action ${expired} expired`));

    const cancelled = await h.propose('alice', 'stop web');
    await h.decide('alice', 'cancel', cancelled);
    await h.decide('bob', 'approve', cancelled);
    await h.chat.waitFor(new RegExp(`Action ${cancelled} was cancelled by console:alice; nothing ran`));
    expect((await h.bot.store.getAction(cancelled))?.status).toBe('cancelled');
    expect((await h.bot.store.getAction(expired))?.status).toBe('expired');
  });

  it('answers an unknown app with the list of apps, and unknown commands with help', async () => {
    await h.say('alice', 'restart nope');
    await h.chat.waitFor(/No app named nope; apps: web\./);
    await h.say('alice', 'frobnicate the servers');
    await h.chat.waitFor(/I don't know "frobnicate"[\s\S]*Say "help"/);
  });

  it('refuses an image from a registry nobody allowed at proposal time, creating nothing', async () => {
    const before = h.chat.said.length;
    await h.say('alice', 'deploy ghost image nonexistent.invalid/ghost:1 port 80');
    await h.chat.waitFor(/Images from nonexistent\.invalid are not allowed in this workspace; an admin can add that registry to the allowlist\. Nothing was proposed\./);
    expect(h.chat.said.slice(before).some((x) => x.msg?.kind === 'card')).toBe(false);
    expect(await h.bot.store.getApp(h.tenantId, 'ghost')).toBeUndefined();
  });

  it('fails a deploy of a local image that is not present (and may not be pulled), leaving nothing behind', async () => {
    const id = await h.propose('alice', 'deploy ghost image hoist-demo/ghost:1 port 80');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/❌ Image hoist-demo\/ghost:1 is not on the Docker engine, and this workspace does not allow pulling it/);
    expect((await h.bot.store.getAction(id))?.status).toBe('failed');
    const ghost = (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'ghost');
    expect(ghost).toHaveLength(0);
    expect(await h.bot.store.getApp(h.tenantId, 'ghost')).toBeUndefined();
  });

  it('keeps a verifiable audit chain with every stage of an action', async () => {
    const r = await verifyAudit(h.fx.dbh.db, h.tenantId);
    expect(r.firstBad).toBeUndefined();
    expect(r.ok).toBe(true);
    const rows = await h.fx.dbh.db.query.auditEvents.findMany({ where: (a, { eq: e }) => e(a.tenantId, h.tenantId) });
    const types = new Set(rows.map((r) => r.type));
    for (const t of ['message.received', 'intent.parsed', 'authz.allowed', 'action.proposed', 'action.approved', 'action.enqueued',
      'action.started', 'action.succeeded', 'action.failed', 'action.reported', 'action.cancelled', 'action.expired']) {
      expect(types, t).toContain(t);
    }
  });
});
