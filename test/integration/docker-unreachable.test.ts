/**
 * Docker engine unreachable: the action fails with one sentence naming where Hoist looked,
 * stays auditable, and the bot keeps answering. (The engine itself is not stopped: the
 * workers are pointed at a socket where no engine listens.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../db/audit.ts';
import { createDockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { startHarness } from '../fixtures/harness.ts';

let h: Awaited<ReturnType<typeof startHarness>>;

beforeAll(async () => {
  h = await startHarness({ deployer: createDockerDeployer({ dockerHost: 'unix:///tmp/hoist-no-engine.sock' }) });
});
afterAll(async () => { await h?.stop(); });

describe('Docker engine unreachable', () => {
  it('fails the action with "Docker engine not reachable at …", audited, and the bot keeps running', async () => {
    const id = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/❌ .*Docker engine not reachable at unix:\/\/\/tmp\/hoist-no-engine\.sock/, 90_000);
    const action = await h.bot.store.getAction(id);
    expect(action?.status).toBe('failed');
    // The reporter audits right after it posts: give it a moment.
    let types: string[] = [];
    for (let i = 0; i < 50 && !types.includes('action.reported'); i++) {
      types = (await h.fx.dbh.db.query.auditEvents.findMany({ where: (a, { eq }) => eq(a.actionId, id) })).map((r) => r.type);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(types).toEqual(expect.arrayContaining(['action.approved', 'action.started', 'action.failed', 'action.reported']));
    expect((await verifyAudit(h.fx.dbh.db, h.tenantId)).ok).toBe(true);

    await h.say('alice', 'help');
    await h.chat.waitFor(/Here is what I understand/);
  });
});
