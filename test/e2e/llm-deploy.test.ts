/**
 * Free text → LLM (fake Messages API) → intent → card → approve → deploy on the real Docker
 * engine, with real PostgreSQL and Redis: the LLM's proposal runs only after a person approves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmHarness, type LlmHarness } from '../fakes/anthropic-harness.ts';
import { demoImage } from '../fixtures/images.ts';

let h: LlmHarness;
beforeAll(async () => {
  h = await startLlmHarness({ workers: true, admins: ['U0DEPLOYER1'] });
  // Tags of this file's own, so another suite rebuilding hoist-demo/httpd:2 cannot swap the image under us.
  await demoImage(h.docker, 'llm1');
  await demoImage(h.docker, 'llm2', { page: 'Hello from Hoist, version llm2' });
});
afterAll(async () => { await h?.stop(); });

describe('LLM to Docker', () => {
  it('"can you push 2 of web to staging" deploys tag 2 once approved, and not before', async () => {
    const first = await h.reply('U0DEPLOYER1', 'deploy web image hoist-demo/httpd:llm1 port 8080');
    await h.decide('U0DEPLOYER1', 'approve', first.cards[0]!);
    await h.chat.waitFor(/web is running on :(\d+)/);
    expect(h.api.requests).toHaveLength(0);

    h.api.script({ kind: 'tool', input: { action: 'deploy', app: 'web', image: ':llm2', environment: 'staging' } });
    const r = await h.reply('U0DEPLOYER1', 'can you push llm2 of web to staging?');
    expect(r.cards).toHaveLength(1);
    expect(r.text).toMatch(/image: hoist-demo\/httpd:llm2/);
    const id = r.cards[0]!;
    await new Promise((res) => setTimeout(res, 500));
    expect((await h.bot.store.getAction(id))?.status).toBe('pending');
    expect((await h.containers()).map((c) => c.Image)).not.toContain('hoist-demo/httpd:llm2');

    await h.decide('U0DEPLOYER1', 'approve', id);
    const until = Date.now() + 60_000;
    while ((await h.bot.store.getAction(id))?.status !== 'succeeded' && Date.now() < until) await new Promise((res) => setTimeout(res, 200));
    expect((await h.bot.store.getAction(id))?.status).toBe('succeeded');
    const app = await h.bot.store.getApp(h.tenantId, 'web');
    expect(app).toMatchObject({ image: 'hoist-demo/httpd:llm2', environment: 'staging' });
    const running = (await h.containers()).filter((c) => c.State === 'running');
    expect(running.map((c) => c.Image)).toEqual(['hoist-demo/httpd:llm2']);
    const port = running[0]!.Ports.find((p) => p.PublicPort)?.PublicPort;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/version llm2/);
  });
});
