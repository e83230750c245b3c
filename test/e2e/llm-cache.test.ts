/**
 * The LLM path reads tenant settings, the BYO key and the app list from the bot's tenant
 * cache (db/tenant-cache.ts), not from PostgreSQL per message. These tests prove the cache
 * never outlives a change: made in this process (dropped at once), or in another process —
 * the admin CLI, the workers creating an app — (dropped when PostgreSQL's notification
 * arrives, milliseconds on one host).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runTenantLlm } from '../../bot/llm/tenant-cli.ts';
import { createDb, type DbHandle } from '../../db/client.ts';
import { Sealer } from '../../db/crypto.ts';
import { LlmRepo } from '../../db/llm-repo.ts';
import { Store } from '../../db/repo.ts';
import { tenantCacheOf } from '../../db/tenant-cache.ts';
import { FAKE_KEY, startLlmHarness, type LlmHarness } from '../fakes/anthropic-harness.ts';

let h: LlmHarness;
/** A second connection pool with no cache: writes through it are "another process". */
let other: DbHandle;
const ME = 'U0CACHEME1';
const restart = (app: string) => ({ kind: 'tool' as const, input: { action: 'restart', app } });
/** Long enough for a NOTIFY to cross loopback, even on a loaded machine. */
const notified = () => new Promise((r) => setTimeout(r, 300));
const appNames = (i: number) => (h.api.userTurn(i).apps as Array<{ name: string }>).map((a) => a.name);

beforeAll(async () => {
  h = await startLlmHarness({ admins: [ME], llm: { limits: { userRequestsPerMinute: 1000, tenantRequestsPerMinute: 1000 } } });
  await h.bot.store.ensureTenant(h.tenantId, 'slack');
  await h.bot.store.upsertApp({ tenantId: h.tenantId, name: 'web', image: 'hoist-demo/httpd:1', port: 8080, environment: 'staging' });
  other = await createDb({ url: h.fx.url, max: 2 });
});
afterAll(async () => {
  await other?.close();
  await h?.stop();
});
beforeEach(() => { h.api.reset(); });

describe('the LLM path reads through the tenant cache', () => {
  it('is served from the cache between changes (no query per message)', async () => {
    const cache = tenantCacheOf(h.fx.dbh.db);
    expect(cache?.live).toBe(true);
    h.api.fallback = restart('web');
    await h.say(ME, 'bounce web please');
    const before = { hits: cache!.hits, misses: cache!.misses };
    await h.say(ME, 'bounce web again please');
    // Settings and key (the LLM's), content mode and role (the pipeline's): all hits.
    expect(cache!.hits - before.hits).toBeGreaterThanOrEqual(3);
    expect(cache!.misses - before.misses).toBe(0);
  });

  it('lists an app created in this process in the very next request', async () => {
    h.api.script(restart('web'), restart('web'));
    await h.say(ME, 'bounce web please');
    expect(appNames(0)).toEqual(['web']);
    await h.bot.store.upsertApp({ tenantId: h.tenantId, name: 'billing', image: 'hoist-demo/httpd:1', port: 8080, environment: 'production' });
    await h.say(ME, 'bounce web please');
    expect(appNames(1)).toEqual(['billing', 'web']);
    expect(h.api.userTurn(1).environments).toEqual(['default', 'production', 'staging']);
  });

  it('lists an app created by another process (the workers) once PostgreSQL has said so', async () => {
    h.api.script(restart('web'), restart('web'));
    await h.say(ME, 'bounce web please');
    expect(appNames(0)).not.toContain('queue');
    await new Store(other.db).upsertApp({ tenantId: h.tenantId, name: 'queue', image: 'hoist-demo/httpd:1', port: 8080, environment: 'staging' });
    await notified();
    await h.say(ME, 'bounce web please');
    expect(appNames(1)).toContain('queue');
  });

  it('stops calling the model at once when the LLM is switched off in this process', async () => {
    const repo = new LlmRepo(h.fx.dbh.db);
    h.api.script(restart('web'));
    await h.say(ME, 'bounce web please');
    expect(h.api.requests).toHaveLength(1);
    await repo.setTenantLlm(h.tenantId, { enabled: false });
    const off = await h.reply(ME, 'bounce web please');
    expect(h.api.requests).toHaveLength(1);
    expect(off.text).toMatch(/I don't know "bounce"/);
    await repo.setTenantLlm(h.tenantId, {});
  });

  it('stops calling the model when `hoist tenant llm --off` runs in another process, and starts again with --on', async () => {
    const cli = (flags: { on?: boolean; off?: boolean }) => runTenantLlm({
      repo: new LlmRepo(other.db), tenantId: h.tenantId, flags, stdin: process.stdin, out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    h.api.script(restart('web'));
    await h.say(ME, 'bounce web please'); // settings now cached: on
    expect(h.api.requests).toHaveLength(1);
    await cli({ off: true });
    await notified();
    expect((await h.reply(ME, 'bounce web please')).text).toMatch(/I don't know "bounce"/);
    expect(h.api.requests).toHaveLength(1);
    await cli({ on: true });
    await notified();
    h.api.script(restart('web'));
    expect((await h.reply(ME, 'bounce web please')).cards).toHaveLength(1);
    expect(h.api.requests).toHaveLength(2);
  });

  it('uses a BYO key set or cleared in another process (llm_keys has no trigger: the repo notifies)', async () => {
    const repo = new LlmRepo(other.db);
    h.api.fallback = restart('web');
    await h.say(ME, 'bounce web please');
    expect(h.api.requests.at(-1)!.key).toBe(FAKE_KEY);
    await repo.setKey(h.tenantId, await new Sealer(other.db, h.services.masterKey).seal(h.tenantId, 'llm-key', 'sk-ant-byo-cache-test-7777777'));
    await notified();
    await h.say(ME, 'bounce web please');
    expect(h.api.requests.at(-1)!.key).toBe('sk-ant-byo-cache-test-7777777');
    expect(await repo.clearKey(h.tenantId)).toBe(true);
    await notified();
    await h.say(ME, 'bounce web please');
    expect(h.api.requests.at(-1)!.key).toBe(FAKE_KEY);
  });
});
