/** LLM budgets in real Redis: per user and per workspace, per minute and per day; the grammar keeps working. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { LlmRepo } from '../../db/llm-repo.ts';
import { startLlmHarness, type LlmHarness } from '../fakes/anthropic-harness.ts';
import { TEST_REDIS_URL } from '../fixtures/services.ts';

let h: LlmHarness;
// Fixed one-minute windows: start each test just after a minute begins, so it cannot straddle two.
let offsetMs = 60_000 - (Date.now() % 60_000) + 500;
const tool = { kind: 'tool' as const, input: { action: 'restart', app: 'web' }, usage: { input: 300, output: 30 } };

beforeAll(async () => {
  h = await startLlmHarness({
    admins: ['U0BUDGETX1'],
    llm: { now: () => new Date(Date.now() + offsetMs), limits: { userRequestsPerMinute: 2, tenantRequestsPerMinute: 4, tenantTokensPerDay: 1_000_000, userTokensPerDay: 1_000_000 } },
  });
  await h.bot.store.ensureTenant(h.tenantId, 'slack');
  await h.bot.store.upsertApp({ tenantId: h.tenantId, name: 'web', image: 'hoist-demo/httpd:1', port: 8080, environment: 'staging' });
  for (const u of ['U0BUDGETX2', 'U0BUDGETX3']) await h.bot.store.setRole(h.tenantId, `slack:${u}`, 'deployer', 'test');
  h.api.fallback = tool;
});
afterAll(async () => { await h?.stop(); });

describe('LLM budgets', () => {
  it('refuses politely past the per-user and per-workspace requests per minute, and the grammar still works', async () => {
    for (let i = 0; i < 2; i++) expect((await h.reply('U0BUDGETX1', 'bounce web please')).cards).toHaveLength(1);
    const third = await h.reply('U0BUDGETX1', 'bounce web please');
    expect(third.cards).toHaveLength(0);
    expect(third.text).toMatch(/You have used up the language-model budget for this minute .*The exact commands still work without it: deploy <app>/);
    expect(h.api.requests).toHaveLength(2);
    expect((await h.reply('U0BUDGETX1', 'restart web')).cards).toHaveLength(1); // grammar: no budget, no call
    expect(h.api.requests).toHaveLength(2);
    expect((await h.reply('U0BUDGETX2', 'bounce web please')).cards).toHaveLength(1); // workspace: 4th request this minute
    const ws = await h.reply('U0BUDGETX2', 'bounce web please');
    expect(ws.text).toMatch(/This workspace has used up the language-model budget for this minute/);
    expect(h.api.requests).toHaveLength(3);
  });

  it('refuses past the tokens per day, counting what the API reported', async () => {
    offsetMs += 60_000 - ((Date.now() + offsetMs) % 60_000) + 500; // a fresh minute
    h.api.reset();
    await new LlmRepo(h.fx.dbh.db).setTenantLlm(h.tenantId, { limits: { userTokensPerDay: 600, tenantRequestsPerMinute: 100, userRequestsPerMinute: 100 } });
    // U0BUDGETX3 has used nothing yet: 330 tokens per call, refused once 600 is reached.
    expect((await h.reply('U0BUDGETX3', 'bounce web please')).cards).toHaveLength(1);
    expect((await h.reply('U0BUDGETX3', 'bounce web please')).cards).toHaveLength(1);
    const day = await h.reply('U0BUDGETX3', 'bounce web please');
    expect(day.text).toMatch(/You have used up the language-model budget for today/);
    expect(h.api.requests).toHaveLength(2);
  });

  it('keys the counters by pseudonym, never by a user or workspace id', async () => {
    const r = new Redis(TEST_REDIS_URL);
    try {
      const keys = await r.keys(`${h.prefix}:llm:*`);
      expect(keys.length).toBeGreaterThan(4);
      for (const k of keys) {
        expect(k).not.toMatch(/U0BUDGET|slack:T/);
      }
    } finally {
      r.disconnect();
    }
  });
});
