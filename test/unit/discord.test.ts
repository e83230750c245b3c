/** Discord adapter logic without a network: rendering limits, normalization, slash text, the identify policy. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTIFY_POLICY, GuardedIdentifyThrottler, identifyDelay } from '../../bot/adapters/discord/discord-identify.ts';
import { normalizeMessage, parseCustomId, secretAsChat, slashText } from '../../bot/adapters/discord/discord-normalize.ts';
import { fitEmbed, LIMITS, renderCard, renderOutcome, renderText, split } from '../../bot/adapters/discord/discord-render.ts';
import type { Logger } from '../../bot/core/types.ts';

const BOT = '900000000000000001';
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };

describe('discord render', () => {
  it('splits long text at newlines into ≤ 2000-char messages and keeps every character', () => {
    const text = Array.from({ length: 200 }, (_, i) => `row ${i} ${'y'.repeat(50)}`).join('\n');
    const parts = split(text);
    expect(parts.every((p) => p.length <= 2000)).toBe(true);
    expect(parts.join('\n')).toBe(text);
    const huge = renderText('z'.repeat(50_000));
    expect(huge).toHaveLength(10);
    expect(huge.at(-1)!.content).toMatch(/truncated: [\d,]+ more characters/);
    expect(huge.every((m) => m.content!.length <= 2000 && m.allowed_mentions.parse.length === 0)).toBe(true);
  });

  it('fits an embed to every Discord limit with a visible note', () => {
    const e = fitEmbed({
      title: 't'.repeat(1000), description: 'd'.repeat(10_000), footer: { text: 'f'.repeat(3000) },
      fields: Array.from({ length: 40 }, (_, i) => ({ name: `n${i}`, value: 'v'.repeat(2000) })),
    });
    expect(e.title!.length).toBeLessThanOrEqual(LIMITS.title);
    expect(e.description!.length).toBeLessThanOrEqual(LIMITS.description);
    expect(e.fields!.length).toBeLessThanOrEqual(LIMITS.fields);
    for (const f of e.fields!) expect(f.value.length).toBeLessThanOrEqual(LIMITS.fieldValue);
    const total = e.title!.length + e.description!.length + e.footer!.text.length + e.fields!.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(LIMITS.total);
    expect(JSON.stringify(e)).toMatch(/did not fit/);
  });

  it('renders a card with the two custom_ids, and its outcome without buttons', () => {
    const card = { actionId: 'act-abcdefghij', title: 'Deploy web', details: ['image: x'], requestedBy: 'discord:123456789', expiresAt: new Date(), fourEyes: false };
    const c = renderCard(card);
    expect(c.components![0]!.components.map((b) => b.custom_id)).toEqual(['hoist.approve:act-abcdefghij', 'hoist.cancel:act-abcdefghij']);
    expect(JSON.stringify(c.embeds)).toContain('<@123456789>');
    const o = renderOutcome(card, 'Approved by discord:987654321; running now.');
    expect(o.components).toEqual([]);
    expect(JSON.stringify(o.embeds)).toContain('Approved by <@987654321>');
  });
});

describe('discord normalize', () => {
  const base = { id: '1', authorId: '42', authorBot: false, notFromAPerson: false, guildId: '7', channelId: '5', place: 'channel' as const };
  it('takes mentions in channels (whitespace → help), ignores other chatter, bots and itself', () => {
    const n = normalizeMessage({ ...base, content: `<@${BOT}>   ` }, BOT, new Date());
    expect(n.kind === 'message' && n.msg.text).toBe('help');
    expect(n.kind === 'message' && n.needsThread).toBe(true);
    expect(n.kind === 'message' && n.msg.tenantId).toBe('discord:7');
    expect(normalizeMessage({ ...base, content: 'deploy web' }, BOT, new Date()).kind).toBe('ignore');
    expect(normalizeMessage({ ...base, content: `<@${BOT}> hi`, authorBot: true }, BOT, new Date()).kind).toBe('ignore');
    expect(normalizeMessage({ ...base, content: `<@${BOT}> hi`, authorId: BOT }, BOT, new Date()).kind).toBe('ignore');
    const dm = normalizeMessage({ ...base, place: 'dm', guildId: null, content: 'apps' }, BOT, new Date());
    expect(dm.kind === 'message' && dm.msg.tenantId).toBe('discord:dm:42');
    expect(dm.kind === 'message' && dm.msg.conversation.threadId).toBe('1');
    const reply = normalizeMessage({ ...base, place: 'thread', parentId: '5', channelId: '9', content: 'apps' }, BOT, new Date());
    expect(reply.kind === 'message' && reply.onlyInHoistThread).toBe(true);
  });

  it('accepts only its own custom_ids and re-validates them', () => {
    expect(parseCustomId('hoist.approve:act-abcdefghij')).toEqual({ kind: 'decision', decision: 'approve', actionId: 'act-abcdefghij' });
    expect(parseCustomId('hoist.cancel:act-abcdefghij')?.kind).toBe('decision');
    expect(parseCustomId('hoist.secret:web:API_TOKEN')).toEqual({ kind: 'secret', app: 'web', key: 'API_TOKEN' });
    for (const bad of ['evil', 'hoist.approve:x', "hoist.approve:act-'; drop", 'hoist.approve:act-abcd:more', 'hoist.secret:Web:K', 'hoist.secret:web:1K']) {
      expect(parseCustomId(bad)).toBeUndefined();
    }
  });

  it('turns slash subcommands into the chat grammar, one line per option', () => {
    expect(slashText('deploy', { app: 'web', image: 'nginx:1', port: 8080, to: 'staging', replicas: 2 })).toMatchObject({ text: 'deploy web image nginx:1 port 8080 to staging replicas 2', private: false });
    expect(slashText('deploy', { app: 'web', tag: '1.4.2' }).text).toBe('deploy web 1.4.2');
    expect(slashText('scale', { app: 'web', replicas: 3 }).text).toBe('scale web to 3');
    expect(slashText('status', {})).toMatchObject({ text: 'status', private: true });
    expect(slashText('logs', { app: 'web', lines: 20 })).toMatchObject({ text: 'logs web 20', private: true });
    expect(slashText('unset', { app: 'web', key: 'K' }).text).toBe('unset K on web');
    expect(slashText('grant', { user: '123', role: 'deployer' }).text).toBe('grant <@123> deployer');
    expect(slashText('privacy', { request: 'forget me' }).text).toBe('privacy forget me');
    expect(slashText('set', { app: 'web', key: 'K' }).secret).toEqual({ app: 'web', key: 'K' });
    expect(slashText('restart', { app: 'web\nrestart api' }).text).toBe('restart web restart api');
    expect(secretAsChat('web', 'K', 'a "b" \\ c')).toBe('set K="a \\"b\\" \\\\ c" on web');
  });
});

describe('discord identify guard', () => {
  const p = DEFAULT_IDENTIFY_POLICY;
  it('lets a first start identify at once and keeps 5 s between identifies', () => {
    const now = 1_000_000_000;
    expect(identifyDelay([], now).waitMs).toBe(0);
    expect(identifyDelay([now - 1000], now).waitMs).toBe(4000);
  });

  it('backs off exponentially when a process restarts in a loop, up to the cap', () => {
    const now = 1_000_000_000;
    const loop = (n: number) => Array.from({ length: n }, (_, i) => now - (n - i) * 1000);
    expect(identifyDelay(loop(2), now).waitMs).toBe(p.baseMs - 1000);
    expect(identifyDelay(loop(3), now).waitMs).toBe(p.baseMs * 2 - 1000);
    expect(identifyDelay(loop(4), now).waitMs).toBe(p.baseMs * 4 - 1000);
    expect(identifyDelay(loop(20), now).waitMs).toBe(p.maxMs - 1000);
    // Old identifies (outside the window) do not count.
    expect(identifyDelay([now - 3600_000, now - 3500_000], now).waitMs).toBe(0);
  });

  it('stops before Discord’s daily limit and honours session_start_limit', () => {
    const now = 10 * 24 * 3600_000;
    const day = Array.from({ length: p.dailyBudget }, (_, i) => now - 23 * 3600_000 + i * 60_000);
    expect(identifyDelay(day, now).waitMs).toBeGreaterThanOrEqual(3600_000 - 1);
    expect(identifyDelay([], now, p, { remaining: 0, reset_after: 1234 }).waitMs).toBe(1234);
  });

  it('records each identify and waits (abortably) when told to', async () => {
    const log: number[] = [];
    let now = 50_000_000;
    const t = new GuardedIdentifyThrottler({ recent: async () => [...log], record: async (at) => void log.push(at) }, quiet, { ...p, minGapMs: 50 }, undefined, () => now);
    await t.waitForIdentify(0, new AbortController().signal);
    expect(log).toEqual([now]);
    now += 10;
    const started = Date.now();
    await t.waitForIdentify(0, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(log).toHaveLength(2);
    const ac = new AbortController();
    const waiting = t.waitForIdentify(0, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toThrow();
  });
});
