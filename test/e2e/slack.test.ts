/**
 * Slack over HTTP, at the wire: signed requests into the real Bolt receiver mounted on
 * Hoist's own HTTP server, a fake Slack Web API recording every call, and real PostgreSQL,
 * Redis and Docker behind the pipeline.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantExport } from '../../db/privacy/export.ts';
import { buttonsOf, textOf, type SlackCall } from '../fakes/slack-api.ts';
import { BOT_USER, CHANNEL, startSlackHarness, type SlackHarness } from '../fakes/slack-harness.ts';
import { demoImage } from '../fixtures/images.ts';
import { uid } from '../fixtures/services.ts';

let h: SlackHarness;
let image: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inThread = (c: SlackCall, thread: string) => c.body.thread_ts === thread;
const rowsOf = (r: unknown): unknown[] => (Array.isArray(r) ? r : ((r as { rows?: unknown[] }).rows ?? []));

beforeAll(async () => {
  h = await startSlackHarness();
  image = await demoImage(h.docker, '1');
  await h.store.ensureTenant(h.tenantId, 'slack');
  await h.store.setRole(h.tenantId, 'slack:UDEV', 'deployer', 'test');
  await h.store.setRole(h.tenantId, 'slack:UAPP', 'approver', 'test');
  await h.store.setRole(h.tenantId, 'slack:UVIEW', 'viewer', 'test');
});

afterAll(async () => {
  await h?.stop();
});

describe('Slack over HTTP', () => {
  it('rejects unsigned, wrongly signed and stale requests with 401 and does nothing', async () => {
    const before = h.api.calls.length;
    const ev = h.sender.mention('UDEV', CHANNEL, `<@${BOT_USER}> help`);
    const raw = JSON.stringify(ev.body);
    expect((await h.sender.post(raw, 'application/json', { unsigned: true })).status).toBe(401);
    expect((await h.sender.post(raw, 'application/json', { secret: 'not-the-secret' })).status).toBe(401);
    expect((await h.sender.post(raw, 'application/json', { ts: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    await sleep(500);
    expect(h.api.calls.length).toBe(before);
    const claimed = rowsOf(await h.fx.dbh.db.execute(sql`select event_id from processed_events where event_id = ${String(ev.body.event_id)}`));
    expect(claimed).toHaveLength(0);
  });

  it('mention → card → signed approve → card updated → progress edited in place → result in the thread → the app answers HTTP', async () => {
    const card = await h.mentionForCard('UDEV', `deploy web image ${image} port 8080`);
    expect(card.thread).toBeDefined();
    const text = textOf(card.call);
    expect(text).toContain(`image: ${image}`);
    expect(text).toContain('<@UDEV>');
    expect(text).toContain(card.actionId);
    expect(buttonsOf(card.call)).toEqual([{ action_id: 'hoist.approve', value: card.actionId }, { action_id: 'hoist.cancel', value: card.actionId }]);

    const r = await h.click('UAPP', card, 'hoist.approve');
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const outcome = await h.api.waitFor(() => h.api.of('chat.update').find((c) => c.body.ts === card.ts), 'the card update');
    expect(textOf(outcome)).toMatch(/Approved by <@UAPP>/);
    expect(buttonsOf(outcome)).toEqual([]);

    const result = await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => inThread(c, card.thread!) && /✅|❌/.test(textOf(c))), 'the result', 120_000);
    expect(textOf(result)).toMatch(/✅/);
    const port = /running on :(\d+)/.exec(textOf(result))?.[1];
    expect(port).toBeDefined();
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toMatch(/Hello from Hoist demo 1/);

    // Progress: one message posted in the thread, then edited in place; the result posted once.
    const threadPosts = h.api.of('chat.postMessage').filter((c) => inThread(c, card.thread!) && c !== card.call);
    const progress = threadPosts.filter((c) => c !== result);
    expect(progress).toHaveLength(1);
    const progressTs = String(progress[0]!.response?.ts);
    const edits = h.api.of('chat.update').filter((c) => c.body.ts === progressTs);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(threadPosts.filter((c) => /✅|❌/.test(textOf(c)))).toHaveLength(1);
  });

  it('a click by a viewer is refused privately and nothing runs', async () => {
    const card = await h.mentionForCard('UDEV', 'scale web to 2');
    const updatesBefore = h.api.of('chat.update').length;
    await h.click('UVIEW', card, 'hoist.approve');
    const refusal = await h.api.waitFor(() => h.api.of('chat.postEphemeral').find((c) => c.body.user === 'UVIEW'), 'the refusal');
    expect(textOf(refusal)).toMatch(/not allowed|approver role/i);
    await sleep(300);
    expect((await h.store.getAction(card.actionId))?.status).toBe('pending');
    expect(h.api.of('chat.update').length).toBe(updatesBefore);
    await h.click('UDEV', card, 'hoist.cancel');
    await h.api.waitFor(() => h.api.of('chat.update').find((c) => c.body.ts === card.ts && /Cancelled by <@UDEV>/.test(textOf(c))), 'the cancel outcome');
  });

  it('a double click and an approve-vs-cancel race each give exactly one outcome and one deployment', async () => {
    const card = await h.mentionForCard('UDEV', `deploy api image ${image} port 8080`);
    const [a, b] = await Promise.all([h.click('UAPP', card, 'hoist.approve'), h.click('UAPP', card, 'hoist.approve')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => inThread(c, card.thread!) && /✅|❌/.test(textOf(c))), 'the result', 120_000);
    const outcomes = h.api.of('chat.update').filter((c) => c.body.ts === card.ts);
    expect(outcomes).toHaveLength(1);
    const refusal = await h.api.waitFor(() => h.api.of('chat.postEphemeral').find((c) => c.body.user === 'UAPP' && /already approved/.test(textOf(c))), 'the second click refused');
    expect(refusal).toBeDefined();
    expect(await h.store.deploymentsOf(h.tenantId, 'api')).toHaveLength(1);

    const race = await h.mentionForCard('UDEV', 'restart api');
    await Promise.all([h.click('UAPP', race, 'hoist.approve'), h.click('UDEV', race, 'hoist.cancel')]);
    await h.api.waitFor(() => h.api.of('chat.update').some((c) => c.body.ts === race.ts), 'the race outcome');
    await sleep(1000);
    expect(h.api.of('chat.update').filter((c) => c.body.ts === race.ts)).toHaveLength(1);
    const status = (await h.store.getAction(race.actionId))!.status;
    expect(['approved', 'running', 'succeeded', 'cancelled']).toContain(status);
    await h.bot.idle(120_000);
  });

  it('the same event delivered three times (retries marked) makes one card', async () => {
    const since = h.api.of('chat.postMessage').length;
    const ev = h.sender.mention('UDEV', CHANNEL, `<@${BOT_USER}> restart web`);
    const eventId = String(ev.body.event_id);
    const raw = JSON.stringify(ev.body);
    const results = await Promise.all([
      h.sender.post(raw, 'application/json'),
      h.sender.post(raw, 'application/json', { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const card = await h.card(since);
    const third = await h.sender.post(raw, 'application/json', { headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } });
    expect(third.status).toBe(200);
    await sleep(1000);
    const cards = h.api.of('chat.postMessage').slice(since).filter((c) => buttonsOf(c).some((b) => b.action_id === 'hoist.approve'));
    expect(cards).toHaveLength(1);
    expect(eventId).toMatch(/^Ev/);
    await h.click('UDEV', card, 'hoist.cancel');
  });

  it('/hoist status acks at once and answers privately, with a button that shares it in the channel', async () => {
    const responseUrl = h.api.responseUrl(uid('r'));
    const r = await h.sender.command('UVIEW', CHANNEL, 'status', responseUrl);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const answer = await h.api.waitFor(() => h.api.of('response_url').find((c) => /web/.test(textOf(c))), 'the private status answer', 60_000);
    expect(answer.body.response_type).toBe('ephemeral');
    expect(textOf(answer)).toMatch(/web/);
    const share = buttonsOf(answer).find((b) => b.action_id === 'hoist.share');
    expect(share).toBeDefined();
    expect(h.api.of('chat.postMessage').some((c) => c.body.channel === CHANNEL && textOf(c) === textOf(answer))).toBe(false);

    await h.sender.blockAction('UVIEW', { channel: CHANNEL, messageTs: '1.1', actionId: 'hoist.share', value: share!.value, ephemeral: true, responseUrl });
    const shared = await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => /Shared by <@UVIEW>/.test(textOf(c))), 'the shared answer');
    expect(textOf(shared)).toMatch(/web/);

    const help = h.api.responseUrl(uid('r'));
    await h.sender.command('UVIEW', CHANNEL, '', help);
    await h.api.waitFor(() => h.api.of('response_url').find((c) => /deploy/.test(textOf(c)) && c.body.response_type === 'ephemeral'), 'the private help');
  });

  it('waits out a 429 from Slack and keeps every message, in order', async () => {
    const slack = h.bot.slack!;
    const conv = { platform: 'slack' as const, tenantId: h.tenantId, channelId: 'C0RATE' };
    h.api.rateLimitOnce('chat.postMessage', 1);
    const t0 = Date.now();
    await Promise.all(['one', 'two', 'three'].map((text) => slack.post(conv, { kind: 'text', text })));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const calls = h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === 'C0RATE');
    expect(calls.map((c) => `${c.status} ${c.body.text}`)).toEqual(['429 one', '200 one', '200 two', '200 three']);

    // And through the whole pipeline: the reply to a mention still arrives.
    h.api.rateLimitOnce('chat.postMessage', 1);
    await h.sender.mention('UDEV', 'C0RATE', `<@${BOT_USER}> help`).send();
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'C0RATE' && /deploy/.test(textOf(c))), 'the help reply after a 429');
    const metrics = await (await fetch(`${h.bot.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/hoist_chat_rate_limited_total\{platform="slack"\} [1-9]/);
  });

  it('set KEY on app opens a modal; the submitted value is sealed and reaches no Slack call, audit row or log line', async () => {
    const canary = `canary-${uid('')} "q" & <x> 'y'`;
    const responseUrl = h.api.responseUrl(uid('r'));
    await h.sender.command('UDEV', CHANNEL, 'env web API_TOKEN', responseUrl);
    const open = await h.api.waitFor(() => h.api.of('views.open').at(-1), 'views.open');
    const view = open.body.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(view.callback_id).toBe('hoist.secret');
    expect(JSON.stringify(view.blocks)).toContain('plain_text_input');

    const since = h.api.of('chat.postMessage').length;
    const sub = await h.sender.viewSubmission('UDEV', { id: 'VSECRET1', callback_id: view.callback_id, private_metadata: view.private_metadata, value: canary });
    expect(sub.status).toBe(200);
    const card = await h.card(since);
    expect(textOf(card.call)).toMatch(/API_TOKEN \(value sealed, not shown\)/);
    await h.click('UAPP', card, 'hoist.approve');
    const result = await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => inThread(c, card.thread!) && /✅|❌/.test(textOf(c))), 'the result', 120_000);
    expect(textOf(result)).toMatch(/✅/);

    const rows = await h.store.envVarRows(h.tenantId, 'web');
    const row = rows.find((x) => x.key === 'API_TOKEN');
    expect(row).toBeDefined();
    expect(row!.ciphertext.includes(Buffer.from(canary))).toBe(false);
    expect(row!.ciphertext.includes(Buffer.from('canary-'))).toBe(false);

    // The deployed container got the exact value (quotes, & and < intact).
    const containers = await h.docker.listContainers({ filters: { label: [`hoist.tenant=${h.tenantId}`, 'hoist.app=web'] } });
    const envs = await Promise.all(containers.map(async (c) => (await h.docker.getContainer(c.Id).inspect()).Config.Env));
    expect(envs.some((e) => e.includes(`API_TOKEN=${canary}`))).toBe(true);

    expect(h.api.allRaw()).not.toContain('canary-');
    expect(h.logs.lines.join('\n')).not.toContain('canary-');
    const dump = async (table: string) => JSON.stringify(rowsOf(await h.fx.dbh.db.execute(sql.raw(`select * from ${table}`))));
    for (const t of ['audit_events', 'actions', 'processed_events', 'sealed_secrets', 'deployments']) expect(await dump(t)).not.toContain('canary-');
  });

  it('after a mention, set KEY on app posts a private "Enter value" button whose click opens the modal', async () => {
    const ev = h.sender.mention('UDEV', CHANNEL, `<@${BOT_USER}> set OTHER_KEY on web`);
    await ev.send();
    const prompt = await h.api.waitFor(() => h.api.of('chat.postEphemeral').find((c) => buttonsOf(c).some((b) => b.action_id === 'hoist.secret')), 'the Enter value button');
    expect(prompt.body.user).toBe('UDEV');
    const button = buttonsOf(prompt).find((b) => b.action_id === 'hoist.secret')!;
    const opens = h.api.of('views.open').length;
    await h.sender.blockAction('UDEV', { channel: CHANNEL, messageTs: '2.2', threadTs: String(ev.body.event.ts), actionId: 'hoist.secret', value: button.value, ephemeral: true });
    const open = await h.api.waitFor(() => h.api.of('views.open')[opens], 'views.open after the button');
    const meta = JSON.parse((open.body.view as { private_metadata: string }).private_metadata) as { thread: string };
    expect(meta.thread).toBe(ev.body.event.ts);
  });

  it('answers DMs, replies in threads Hoist is in (not others), and threads a mutating /hoist command', async () => {
    const msg = (channel: string, text: string, extra: Record<string, unknown> = {}) =>
      h.sender.event({ type: 'message', user: 'UDEV', channel, text, ts: h.sender.nextTs(), ...extra }).send();
    await msg('D0DM', 'apps', { channel_type: 'im' });
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'D0DM' && /web/.test(textOf(c))), 'the DM answer');

    const m = h.sender.mention('UDEV', 'C0THR', `<@${BOT_USER}> help`);
    await m.send();
    const root = String(m.body.event.ts);
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'C0THR' && inThread(c, root)), 'the threaded help');
    await msg('C0THR', 'apps', { channel_type: 'channel', thread_ts: root });
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'C0THR' && inThread(c, root) && /^Apps:/.test(String(c.body.text))), 'the reply in our thread');
    const before = h.api.calls.length;
    await msg('C0THR', 'apps', { channel_type: 'channel', thread_ts: '1234.5678' });
    await msg('C0THR', 'apps', { channel_type: 'channel' });
    await sleep(800);
    expect(h.api.calls.slice(before).filter((c) => c.body.channel === 'C0THR')).toEqual([]);

    const since = h.api.of('chat.postMessage').length;
    await h.sender.command('UDEV', 'C0THR', 'restart web', h.api.responseUrl(uid('r')));
    const card = await h.card(since);
    const rootPost = h.api.of('chat.postMessage').slice(since).find((c) => /asked Hoist/.test(textOf(c)));
    expect(rootPost?.body.thread_ts).toBeUndefined();
    expect(card.thread).toBe(String(rootPost?.response?.ts));
    await h.click('UDEV', card, 'hoist.cancel');
  });

  it('bad input gets a clear answer or a 4xx, never a crash', async () => {
    // Empty mention.
    await h.sender.mention('UDEV', 'C0BAD', `<@${BOT_USER}>`).send();
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'C0BAD' && /say "help"/.test(textOf(c))), 'the empty-mention hint');
    // A message past Slack's size.
    await h.sender.mention('UDEV', 'C0BAD', `<@${BOT_USER}> deploy ${'x'.repeat(45_000)}`).send();
    await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => c.body.channel === 'C0BAD' && /I read at most 40,000/.test(textOf(c))), 'the too-long answer');
    // Unknown action id and a malformed action value.
    await h.sender.blockAction('UDEV', { channel: 'C0BAD', messageTs: '3.3', actionId: 'evil.action', value: 'x' });
    await h.sender.blockAction('UDEV', { channel: 'C0BAD', messageTs: '3.3', actionId: 'hoist.approve', value: "act-'; drop table actions;--" });
    await h.api.waitFor(() => h.api.of('chat.postEphemeral').filter((c) => c.body.channel === 'C0BAD' && /not one I know/.test(textOf(c))).length === 2 || undefined, 'two refusals');
    // An action id from nowhere.
    await h.sender.blockAction('UDEV', { channel: 'C0BAD', messageTs: '3.3', actionId: 'hoist.approve', value: 'act-zzzzzzzzzz' });
    await h.api.waitFor(() => h.api.of('chat.postEphemeral').find((c) => /no action act-zzzzzzzzzz/.test(textOf(c))), 'unknown action refusal');
    // Malformed bodies.
    expect((await h.sender.post('payload=%7Bnot-json', 'application/x-www-form-urlencoded')).status).toBeGreaterThanOrEqual(400);
    const weird = await h.sender.post(new URLSearchParams({ payload: JSON.stringify({ type: 'weird' }) }).toString(), 'application/x-www-form-urlencoded');
    expect(weird.status).toBeGreaterThanOrEqual(400);
    expect(weird.status).toBeLessThan(500);
    expect((await h.sender.post(JSON.stringify({ type: 'event_callback', team_id: h.team, event_id: 'EvBROKEN', event: { type: 'app_mention' } }), 'application/json')).status).toBe(200);
    expect((await h.sender.post('{', 'application/json')).status).toBe(400);
    // A modal with tampered metadata is refused in the modal.
    const tampered = await h.sender.viewSubmission('UDEV', { id: 'VBAD', callback_id: 'hoist.secret', private_metadata: '{"key":"A B"}', value: 'v' });
    expect(tampered.body).toMatch(/no longer valid/);
    // The process is still healthy.
    expect((await fetch(`${h.bot.http!.url}/healthz`)).status).toBe(200);
  });

  it('privacy export (admin) arrives as a JSON file in a DM, through the upload URL flow; the channel gets a note only', async () => {
    const since = h.api.calls.length;
    await h.sender.mention('UADMIN', CHANNEL, `<@${BOT_USER}> privacy export`).send();
    const note = await h.api.waitFor(() => h.api.of('chat.postMessage').find((c) => h.api.calls.indexOf(c) >= since && /I sent you the export/.test(textOf(c))), 'the export note', 60_000);
    expect(note.body.channel).toBe(CHANNEL);
    const calls = h.api.calls.slice(since).filter((c) => c.status === 200).map((c) => c.method);
    // Slack's upload flow, in order: the DM is opened, an upload URL asked for, the bytes posted, the upload completed in the DM.
    const flow = ['conversations.open', 'files.getUploadURLExternal', 'upload', 'files.completeUploadExternal'];
    expect(calls.filter((m) => flow.includes(m))).toEqual(flow);
    expect(h.api.of('conversations.open').at(-1)!.body.users).toBe('UADMIN');
    const [file] = h.api.files().filter((f) => f.channel === 'DUADMIN');
    expect(file).toBeDefined();
    expect(file!.filename).toMatch(/\.json$/);
    expect(textOf(note)).toContain(file!.filename);
    expect(file!.length).toBe(Buffer.byteLength(file!.content!, 'utf8'));
    const doc = JSON.parse(file!.content!) as TenantExport;
    expect(doc.tenantId).toBe(h.tenantId);
    expect(doc.tables.roles!.map((r) => r.user_id)).toEqual(expect.arrayContaining(['slack:UDEV', 'slack:UAPP', 'slack:UVIEW']));
    expect(doc.tables.audit_events!.some((e) => e.type === 'privacy.export')).toBe(true);
    // The file went to the DM only: no channel message or upload carries its contents.
    expect(h.api.files().filter((f) => f.channel !== 'DUADMIN')).toEqual([]);
    expect(h.api.of('chat.postMessage').some((c) => h.api.calls.indexOf(c) >= since && textOf(c).includes('"audit_events"'))).toBe(false);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const base = h.bot.http!.url;
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/hoist_requests_total\{platform="slack",command="deploy"\} [1-9]/);
    expect(m).toMatch(/hoist_approvals_total\{platform="slack",decision="approve"\} [1-9]/);
    expect(m).toMatch(/process_cpu_user_seconds_total/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
