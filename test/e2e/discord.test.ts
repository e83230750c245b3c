/**
 * Discord at the wire: the real discord.js client (gateway and REST) talks to a fake gateway
 * (HELLO / IDENTIFY / READY / GUILD_CREATE / dispatches / RESUME) and a fake REST API that
 * records every call; real PostgreSQL, Redis and Docker sit behind the pipeline.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardView, ConversationRef } from '../../bot/core/types.ts';
import { APP_ID, BOT_ID, CHANNEL, OTHER_CHANNEL, startDiscordHarness, USERS, type DiscordHarness } from '../fakes/discord-harness.ts';
import { buttonsOf, FakeDiscordRest, textOf, type DiscordCall } from '../fakes/discord-rest.ts';
import { demoImage } from '../fixtures/images.ts';
import { uid } from '../fixtures/services.ts';

let h: DiscordHarness;
let image: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowsOf = (r: unknown): unknown[] => (Array.isArray(r) ? r : ((r as { rows?: unknown[] }).rows ?? []));
const posts = (channel: string) => h.rest.of('POST', new RegExp(`^/channels/${channel}/messages$`));
const isResult = (c: DiscordCall) => /✅|❌/.test(textOf(c.body));
const callbackType = (c: DiscordCall) => (c.body as { type?: number }).type;
const callbackFlags = (c: DiscordCall) => ((c.body as { data?: { flags?: number } }).data?.flags ?? 0);
const flagsOf = (c: DiscordCall) => Number((c.body as { flags?: number }).flags ?? 0);

beforeAll(async () => {
  h = await startDiscordHarness();
  image = await demoImage(h.docker, '1');
  await h.store.ensureTenant(h.tenantId, 'discord');
  await h.store.setRole(h.tenantId, `discord:${USERS.dev}`, 'deployer', 'test');
  await h.store.setRole(h.tenantId, `discord:${USERS.approver}`, 'approver', 'test');
  await h.store.setRole(h.tenantId, `discord:${USERS.viewer}`, 'viewer', 'test');
});

afterAll(async () => {
  await h?.stop();
});

describe('Discord over the gateway', () => {
  it('identifies once with the intents Hoist needs and serves /readyz with the Discord connection', async () => {
    expect(h.gateway.identifies).toHaveLength(1);
    const intents = Number(h.gateway.identifies[0]!.d.intents);
    // Guilds (1), GuildMessages (512), DirectMessages (4096), MessageContent (32768).
    expect(intents & (1 | 512 | 4096 | 32768)).toBe(1 | 512 | 4096 | 32768);
    expect(h.rest.calls.find((c) => c.path === '/gateway/bot')?.auth).toBe('Bot discord-test-token');
    const ready = await fetch(`${h.bot.http!.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('mention → card in a thread → approve → card edited, buttons gone → progress edited in place → result in the thread → the app answers HTTP', async () => {
    const card = await h.mentionForCard(USERS.dev, `deploy web image ${image} port 8080`);
    // The thread was started from the request message and the card posted in it.
    const thread = h.rest.of('POST', new RegExp(`^/channels/${CHANNEL}/messages/${card.request.id}/threads$`))[0];
    expect(thread).toBeDefined();
    expect((thread!.body as { name: string }).name).toBe('hoist deploy');
    expect(card.channelId).toBe(card.request.id);
    const embed = (card.call.body as { embeds: Array<{ title: string }> }).embeds[0]!;
    expect(embed.title).toMatch(/deploy/i);
    const text = textOf(card.call.body);
    expect(text).toContain(`image: ${image}`);
    expect(text).toContain(`<@${USERS.dev}>`);
    expect(text).toContain(card.actionId);
    expect(buttonsOf(card.call.body).map((b) => b.custom_id)).toEqual([`hoist.approve:${card.actionId}`, `hoist.cancel:${card.actionId}`]);
    expect((card.call.body as { allowed_mentions: unknown }).allowed_mentions).toEqual({ parse: [] });

    const click = h.click(USERS.approver, card, `hoist.approve:${card.actionId}`);
    const ack = await h.rest.waitFor(() => h.callbacks(click.id)[0], 'the deferUpdate');
    expect(callbackType(ack)).toBe(6);
    expect(ack.status).toBe(204);
    expect(ack.at - click.sentAt).toBeLessThan(3000);
    const edit = await h.rest.waitFor(() => h.webhookCalls(click.token).find((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original')), 'the card edit');
    expect(textOf(edit.body)).toMatch(new RegExp(`Approved by <@${USERS.approver}>`));
    expect((edit.body as { components: unknown[] }).components).toEqual([]);
    expect(h.rest.messages.get(card.messageId)?.components).toEqual([]);

    const result = await h.rest.waitFor(() => posts(card.channelId).find(isResult), 'the result', 120_000);
    expect(textOf(result.body)).toMatch(/✅/);
    const port = /running on :(\d+)/.exec(textOf(result.body))?.[1];
    expect(port).toBeDefined();
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toMatch(/Hello from Hoist demo 1/);

    // One progress message, edited in place; the result posted once.
    const threadPosts = posts(card.channelId).filter((c) => c !== card.call);
    const progress = threadPosts.filter((c) => c !== result);
    expect(progress).toHaveLength(1);
    const progressId = String((progress[0]!.response as { id: string }).id);
    expect(h.rest.of('PATCH', new RegExp(`^/channels/${card.channelId}/messages/${progressId}$`)).length).toBeGreaterThanOrEqual(1);
    expect(threadPosts.filter(isResult)).toHaveLength(1);
  });

  it('/hoist status is deferred (ephemeral) at once, then the deferred reply is edited with the answer', async () => {
    const s = h.slash(USERS.viewer, 'status');
    const ack = await h.rest.waitFor(() => h.callbacks(s.id)[0], 'the deferReply');
    expect(callbackType(ack)).toBe(5);
    expect(callbackFlags(ack)).toBe(64);
    const edit = await h.rest.waitFor(() => h.webhookCalls(s.token).find((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original')), 'the status answer', 60_000);
    expect(textOf(edit.body)).toMatch(/web/);
    // Nothing public.
    expect(posts(CHANNEL).some((c) => /web/.test(textOf(c.body)) && c.at > ack.at)).toBe(false);
  });

  it('a click by a viewer is refused ephemerally and nothing runs', async () => {
    const card = await h.mentionForCard(USERS.dev, 'scale web to 2');
    const click = h.click(USERS.viewer, card, `hoist.approve:${card.actionId}`);
    const refusal = await h.rest.waitFor(() => h.webhookCalls(click.token).find((c) => c.method === 'POST'), 'the refusal');
    expect(flagsOf(refusal)).toBe(64);
    expect(textOf(refusal.body)).toMatch(/not allowed|approver role/i);
    await sleep(300);
    expect(h.webhookCalls(click.token).filter((c) => c.method === 'PATCH')).toEqual([]);
    expect((await h.store.getAction(card.actionId))?.status).toBe('pending');
    expect(buttonsOf(h.rest.messages.get(card.messageId))).toHaveLength(2);
    const cancel = h.click(USERS.dev, card, `hoist.cancel:${card.actionId}`);
    const out = await h.rest.waitFor(() => h.webhookCalls(cancel.token).find((c) => c.method === 'PATCH'), 'the cancel outcome');
    expect(textOf(out.body)).toMatch(new RegExp(`Cancelled by <@${USERS.dev}>`));
  });

  it('a double click gives one outcome and one deployment; the second click is told why', async () => {
    const card = await h.mentionForCard(USERS.dev, `deploy api image ${image} port 8080`);
    const a = h.click(USERS.approver, card, `hoist.approve:${card.actionId}`);
    const b = h.click(USERS.approver, card, `hoist.approve:${card.actionId}`);
    await h.rest.waitFor(() => posts(card.channelId).find(isResult), 'the result', 120_000);
    const edits = [...h.webhookCalls(a.token), ...h.webhookCalls(b.token)].filter((c) => c.method === 'PATCH');
    expect(edits).toHaveLength(1);
    const refusal = [...h.webhookCalls(a.token), ...h.webhookCalls(b.token)].find((c) => c.method === 'POST');
    expect(textOf(refusal?.body)).toMatch(/already approved/);
    expect(flagsOf(refusal!)).toBe(64);
    expect(await h.store.deploymentsOf(h.tenantId, 'api')).toHaveLength(1);
    await h.bot.idle(120_000);
  });

  it('a resumed session (not a new identify) replays events: each is processed once', async () => {
    const card = await h.mentionForCard(USERS.dev, 'restart web');
    const firstSeq = h.gateway.events.find((e) => e.t === 'MESSAGE_CREATE' && (e.d as { id: string }).id === card.request.id)!.s;
    const click = h.click(USERS.dev, card, `hoist.cancel:${card.actionId}`);
    await h.rest.waitFor(() => h.webhookCalls(click.token).find((c) => c.method === 'PATCH'), 'the cancel outcome');
    const cardsBefore = h.rest.calls.filter((c) => buttonsOf(c.body).some((x) => x.custom_id === `hoist.approve:${card.actionId}`)).length;
    const lastSeq = h.gateway.events.at(-1)!.s;

    // The connection drops; the gateway will replay everything since the mention (an at-least-once
    // delivery), and a message sent while Hoist was away arrives on resume.
    h.gateway.drop({ replay: lastSeq - firstSeq + 1 });
    const away = h.mention(USERS.dev, 'apps', OTHER_CHANNEL);
    await h.gateway.waitFor(() => h.gateway.resumes.length === 1, 'the resume');
    const resume = h.gateway.resumes[0]!;
    expect(resume.path).toMatch(/^\/resume/);
    expect(resume.d.session_id).toBeDefined();
    expect(resume.replayed).toBeGreaterThanOrEqual(lastSeq - firstSeq + 2);
    expect(h.gateway.identifies).toHaveLength(1);

    await h.rest.waitFor(() => posts(away.id).find((c) => /Apps:/.test(textOf(c.body))), 'the answer to the message sent while away');
    await sleep(1500);
    await h.bot.discord!.drain();
    expect(posts(away.id).filter((c) => /Apps:/.test(textOf(c.body)))).toHaveLength(1);
    expect(h.rest.calls.filter((c) => buttonsOf(c.body).some((x) => x.custom_id === `hoist.approve:${card.actionId}`))).toHaveLength(cardsBefore);
    expect(h.rest.of('POST', new RegExp(`/messages/${card.request.id}/threads$`))).toHaveLength(1);
    const acks = h.callbacks(click.id);
    expect(acks.filter((c) => c.status === 204)).toHaveLength(1);
    expect(h.webhookCalls(click.token).filter((c) => c.method === 'PATCH')).toHaveLength(1);
    expect(h.logs.lines.some((l) => l.includes('discord.duplicate') && l.includes(card.request.id))).toBe(true);
    expect((await fetch(`${h.bot.http!.url}/readyz`)).status).toBe(200);
  });

  it('a mention with only whitespace gets help; an unknown button gets an ephemeral answer; nothing crashes', async () => {
    const m = h.mention(USERS.dev, '   \n  ');
    const help = await h.rest.waitFor(() => posts(m.id).find((c) => /Here is what I understand/.test(textOf(c.body))), 'help');
    expect(textOf(help.body)).toMatch(/deploy <app>/);

    const card = await h.mentionForCard(USERS.dev, 'restart web');
    for (const customId of ['evil.action', `hoist.approve:act-'; drop table actions;--`, 'hoist.approve:act-zz:extra']) {
      const click = h.click(USERS.dev, card, customId);
      const answer = await h.rest.waitFor(() => h.callbacks(click.id)[0], `the answer to ${customId}`);
      expect(callbackType(answer)).toBe(4);
      expect(callbackFlags(answer)).toBe(64);
      expect(textOf((answer.body as { data: unknown }).data)).toMatch(/I don't know that button/);
    }
    const nowhere = h.click(USERS.dev, card, 'hoist.approve:act-zzzzzzzzzz');
    const refusal = await h.rest.waitFor(() => h.webhookCalls(nowhere.token).find((c) => c.method === 'POST'), 'the unknown action refusal');
    expect(textOf(refusal.body)).toMatch(/no action act-zzzzzzzzzz/);
    expect((await h.store.getAction(card.actionId))?.status).toBe('pending');
    const cancel = h.click(USERS.dev, card, `hoist.cancel:${card.actionId}`);
    await h.rest.waitFor(() => h.webhookCalls(cancel.token).find((c) => c.method === 'PATCH'), 'the cancel');
    expect((await fetch(`${h.bot.http!.url}/healthz`)).status).toBe(200);
  });

  it('long output is split into messages of at most 2000 characters; an oversized card is fitted with a note', async () => {
    const discord = h.bot.discord!;
    const conv: ConversationRef = { platform: 'discord', tenantId: h.tenantId, channelId: OTHER_CHANNEL };
    const long = Array.from({ length: 120 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n');
    const since = h.rest.calls.length;
    await discord.post(conv, { kind: 'text', text: long });
    const parts = h.rest.calls.slice(since).filter((c) => c.method === 'POST');
    expect(parts.length).toBe(Math.ceil(long.length / 2000));
    for (const p of parts) expect(String((p.body as { content: string }).content).length).toBeLessThanOrEqual(2000);
    expect(parts.map((p) => (p.body as { content: string }).content).join('\n')).toBe(long);

    const card: CardView = {
      actionId: 'act-longcard00', title: `deploy ${'t'.repeat(400)}`, details: Array.from({ length: 300 }, (_, i) => `detail ${i} ${'d'.repeat(30)}`),
      requestedBy: `discord:${USERS.dev}`, expiresAt: new Date(Date.now() + 60_000), fourEyes: true,
    };
    const before = h.rest.calls.length;
    await discord.post(conv, { kind: 'card', card });
    const sent = h.rest.calls.slice(before).find((c) => c.method === 'POST')!;
    expect(sent.status).toBe(200);
    const e = (sent.body as { embeds: Array<{ title: string; description: string; fields: Array<{ name: string; value: string }>; footer?: { text: string } }> }).embeds[0]!;
    expect(e.title.length).toBeLessThanOrEqual(256);
    expect(e.description.length).toBeLessThanOrEqual(4096);
    expect(e.description).toMatch(/truncated: [\d,]+ more characters/);
    const total = e.title.length + e.description.length + (e.footer?.text.length ?? 0) + e.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
  });

  it('set KEY on app → "Enter value" → modal → the submitted value is sealed: never in a Discord body, log line or table', async () => {
    const canary = `canary-${uid('')} "q" & <x> 'y'`;
    const m = h.mention(USERS.dev, 'set API_TOKEN on web');
    const prompt = await h.rest.waitFor(() => posts(m.id).find((c) => buttonsOf(c.body).some((b) => b.custom_id === 'hoist.secret:web:API_TOKEN')), 'the Enter value button');
    expect(textOf(prompt.body)).toMatch(/private form/);
    const open = h.click(USERS.dev, { messageId: String((prompt.response as { id: string }).id), channelId: m.id }, 'hoist.secret:web:API_TOKEN');
    const modal = await h.rest.waitFor(() => h.callbacks(open.id)[0], 'the modal');
    expect(callbackType(modal)).toBe(9);
    const data = (modal.body as { data: { custom_id: string; components: Array<{ components: Array<{ type: number; custom_id: string }> }> } }).data;
    expect(data.custom_id).toBe('hoist.secret:web:API_TOKEN');
    expect(data.components[0]!.components[0]).toMatchObject({ type: 4, custom_id: 'value' });

    const since = h.rest.calls.length;
    const submit = h.submitModal(USERS.dev, data.custom_id, canary, m.id);
    const ack = await h.rest.waitFor(() => h.callbacks(submit.id)[0], 'the modal ack');
    expect(callbackType(ack)).toBe(5);
    expect(callbackFlags(ack)).toBe(64);
    const card = await h.card(since);
    expect(card.channelId).toBe(m.id);
    expect(textOf(card.call.body)).toMatch(/API_TOKEN \(value sealed, not shown\)/);
    const approve = h.click(USERS.approver, card, `hoist.approve:${card.actionId}`);
    await h.rest.waitFor(() => h.webhookCalls(approve.token).find((c) => c.method === 'PATCH'), 'the approval');
    const result = await h.rest.waitFor(() => posts(m.id).find(isResult), 'the result', 120_000);
    expect(textOf(result.body)).toMatch(/✅/);

    const row = (await h.store.envVarRows(h.tenantId, 'web')).find((x) => x.key === 'API_TOKEN');
    expect(row).toBeDefined();
    expect(row!.ciphertext.includes(Buffer.from('canary-'))).toBe(false);
    const containers = await h.docker.listContainers({ filters: { label: [`hoist.tenant=${h.tenantId}`, 'hoist.app=web'] } });
    const envs = await Promise.all(containers.map(async (c) => (await h.docker.getContainer(c.Id).inspect()).Config.Env));
    expect(envs.some((e) => e.includes(`API_TOKEN=${canary}`))).toBe(true);

    expect(h.rest.allRaw()).not.toContain('canary-');
    expect(h.logs.lines.join('\n')).not.toContain('canary-');
    const dump = async (table: string) => JSON.stringify(rowsOf(await h.fx.dbh.db.execute(sql.raw(`select * from ${table}`))));
    for (const t of ['audit_events', 'actions', 'processed_events', 'sealed_secrets', 'deployments']) expect(await dump(t)).not.toContain('canary-');

    // The slash form opens the modal at once (the first and only answer to the interaction).
    const s = h.slash(USERS.dev, 'set', { app: 'web', key: 'OTHER_KEY' });
    const direct = await h.rest.waitFor(() => h.callbacks(s.id)[0], 'the slash modal');
    expect(callbackType(direct)).toBe(9);
    expect((direct.body as { data: { custom_id: string } }).data.custom_id).toBe('hoist.secret:web:OTHER_KEY');
  });

  it('a mutating /hoist command answers publicly at once and threads the card on that answer', async () => {
    const since = h.rest.calls.length;
    const s = h.slash(USERS.dev, 'restart', { app: 'web' });
    const ack = await h.rest.waitFor(() => h.callbacks(s.id)[0], 'the deferReply');
    expect(callbackType(ack)).toBe(5);
    expect(callbackFlags(ack)).toBe(0);
    const root = await h.rest.waitFor(() => h.webhookCalls(s.token).find((c) => c.method === 'PATCH'), 'the root answer');
    expect(textOf(root.body)).toMatch(new RegExp(`<@${USERS.dev}> asked Hoist to restart`));
    const rootId = String((root.response as { id: string }).id);
    const card = await h.card(since);
    expect(card.channelId).toBe(rootId);
    h.click(USERS.dev, card, `hoist.cancel:${card.actionId}`);
    await h.rest.waitFor(() => h.rest.messages.get(card.messageId)?.components.length === 0, 'the cancel');
  });

  it('answers replies in its own threads and DMs (a reply chain, personal tenant), ignores other chatter', async () => {
    const m = h.mention(USERS.dev, 'help');
    await h.rest.waitFor(() => posts(m.id)[0], 'the threaded help');
    h.message(USERS.dev, 'apps', { channelId: m.id });
    await h.rest.waitFor(() => posts(m.id).find((c) => /^Apps:/.test(textOf(c.body))), 'the reply in our thread');
    const before = h.rest.calls.length;
    h.message(USERS.dev, 'apps', { channelId: OTHER_CHANNEL });
    h.message(BOT_ID, `<@${BOT_ID}> apps`);
    await sleep(800);
    expect(h.rest.calls.slice(before).filter((c) => c.method === 'POST')).toEqual([]);

    // A DM is the user's own tenant: the guild's apps and roles do not reach it. A bootstrap admin may use it…
    const dmChannel = '400000000000000001';
    const dm = h.message(USERS.admin, 'apps', { channelId: dmChannel, dm: true });
    const answer = await h.rest.waitFor(() => posts(dmChannel)[0], 'the DM answer');
    expect((answer.body as { message_reference?: { message_id: string } }).message_reference?.message_id).toBe(dm.id);
    expect(textOf(answer.body)).toMatch(/No apps yet/);
    // …a guild deployer has no role there and is told so.
    const otherDm = '400000000000000002';
    h.message(USERS.dev, 'apps', { channelId: otherDm, dm: true });
    const refused = await h.rest.waitFor(() => posts(otherDm)[0], 'the DM refusal');
    expect(textOf(refused.body)).toMatch(/You need the viewer role/);
    expect(await h.store.getRole(`discord:dm:${USERS.dev}`, `discord:${USERS.dev}`)).toBeUndefined();
  });

  it('privacy export arrives as a file in a DM with the admin who asked', async () => {
    const m = h.mention(USERS.admin, 'privacy export');
    await h.rest.waitFor(() => posts(m.id).find((c) => /sent you the export/.test(textOf(c.body))), 'the export notice');
    const open = h.rest.of('POST', /^\/users\/@me\/channels$/).at(-1)!;
    expect((open.body as { recipient_id: string }).recipient_id).toBe(USERS.admin);
    const dmId = String((open.response as { id: string }).id);
    const file = posts(dmId).at(-1)!;
    expect((file.body as { files: string[] }).files).toHaveLength(1);
    expect((file.body as { files: string[] }).files[0]).toMatch(/\.json$/);
  });

  it('register-commands PUTs the /hoist command for a guild, or globally', async () => {
    const fake = await new FakeDiscordRest({ appId: APP_ID, botId: BOT_ID, guildId: '1' }).start();
    try {
      const env = {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOIST_DATA_DIR: mkdtempSync(join(tmpdir(), 'hoist-discord-cli-')),
        DISCORD_TOKEN: 'discord-cli-token', DISCORD_APP_ID: APP_ID, DISCORD_API_URL: fake.apiUrl,
      };
      const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['bin/hoist.mjs', 'discord', 'register-commands', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
      const guild = await run(['--guild', '123456789012345678']);
      expect(guild.code, guild.stderr).toBe(0);
      expect(guild.stdout).toMatch(/in guild 123456789012345678/);
      const global = await run([]);
      expect(global.code, global.stderr).toBe(0);
      expect(global.stdout).toMatch(/globally/);
      const puts = fake.calls.filter((c) => c.method === 'PUT');
      expect(puts.map((c) => c.path)).toEqual([`/applications/${APP_ID}/guilds/123456789012345678/commands`, `/applications/${APP_ID}/commands`]);
      expect(puts[0]!.auth).toBe('Bot discord-cli-token');
      const body = puts[0]!.body as Array<{ name: string; type: number; options: Array<{ type: number; name: string; options: Array<{ name: string; type: number; required?: boolean }> }> }>;
      expect(body).toHaveLength(1);
      expect(body[0]!.name).toBe('hoist');
      const subs = body[0]!.options.map((o) => o.name);
      for (const s of ['deploy', 'rollback', 'restart', 'stop', 'start', 'scale', 'set', 'unset', 'status', 'apps', 'history', 'logs', 'privacy', 'help']) expect(subs).toContain(s);
      expect(body[0]!.options.every((o) => o.type === 1)).toBe(true);
      const deploy = body[0]!.options.find((o) => o.name === 'deploy')!;
      expect(deploy.options.find((o) => o.name === 'app')).toMatchObject({ type: 3, required: true });
      expect(deploy.options.find((o) => o.name === 'port')).toMatchObject({ type: 4 });
      expect(body[0]!.options.find((o) => o.name === 'set')!.options.map((o) => o.name)).not.toContain('value');
      expect(JSON.stringify(puts[1]!.body)).toBe(JSON.stringify(puts[0]!.body));
      const bad = await run(['--guild', 'not-a-guild']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--guild takes a guild id/);
    } finally {
      await fake.close();
    }
  });

  it('counts Discord requests and approvals in /metrics', async () => {
    const m = await (await fetch(`${h.bot.http!.url}/metrics`)).text();
    expect(m).toMatch(/hoist_requests_total\{platform="discord",command="deploy"\} [1-9]/);
    expect(m).toMatch(/hoist_approvals_total\{platform="discord",decision="approve"\} [1-9]/);
  });
});
