/**
 * PostgreSQL down while Discord events arrive. Discord does not redeliver (unlike Slack, which
 * retries after a 5xx): a gateway message or an interaction that cannot be claimed must be
 * answered where the person spoke, with the coded `service_unavailable` sentence, and nothing
 * else may happen (no thread, no card, no pipeline). When PostgreSQL is back, the next request
 * works. Real discord.js against the fake gateway and REST; a PRIVATE PostgreSQL this test may
 * stop (it is always restarted in `finally`); the shared Redis.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DB_UNAVAILABLE, unreachableCode } from '../../bot/adapters/discord/discord-inbound.ts';
import { CHANNEL, startDiscordHarness, USERS, type DiscordHarness } from '../fakes/discord-harness.ts';
import { buttonsOf, textOf, type DiscordCall } from '../fakes/discord-rest.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../fixtures/private-services.ts';
import { uid } from '../fixtures/services.ts';

let pg: PrivatePostgres;
let h: DiscordHarness;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowsOf = <T>(r: unknown): T[] => (Array.isArray(r) ? r : ((r as { rows?: T[] }).rows ?? [])) as T[];
const posts = (channel: string) => h.rest.of('POST', new RegExp(`^/channels/${channel}/messages$`));
const threadsFrom = (messageId: string) => h.rest.of('POST', new RegExp(`^/channels/\\d+/messages/${messageId}/threads$`));
const callbackType = (c: DiscordCall) => (c.body as { type?: number }).type;
const callbackFlags = (c: DiscordCall) => ((c.body as { data?: { flags?: number } }).data?.flags ?? 0);
/** Visibility of the message Discord made of a call (the fake models the first follow-up after a deferral). */
const shownFlags = (c: DiscordCall) => Number((c.response as { flags?: number } | undefined)?.flags ?? 0);
const EPHEMERAL = 64;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  h = await startDiscordHarness({ databaseUrl: pg.url, workers: false });
  await h.store.ensureTenant(h.tenantId, 'discord');
  await h.store.setRole(h.tenantId, `discord:${USERS.dev}`, 'deployer', 'test');
});

afterAll(async () => {
  await h?.stop();
  await pg?.destroy();
});

it('tells a database that cannot be reached from other database errors, through wrappers', () => {
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
  // drizzle wraps the driver's error in `cause`; net may report several addresses in an AggregateError.
  expect(unreachableCode(new Error('Failed query: insert …', { cause: coded('ECONNREFUSED') }))).toBe('ECONNREFUSED');
  expect(unreachableCode(new Error('Failed query', { cause: Object.assign(new AggregateError([coded('ECONNREFUSED')]), {}) }))).toBe('ECONNREFUSED');
  for (const code of ['CONNECTION_CLOSED', 'CONNECT_TIMEOUT', '57P01', '57P03', '08006', '53300']) expect(unreachableCode(coded(code))).toBe(code);
  for (const e of [coded('23505', 'duplicate key'), coded('42P01', 'relation does not exist'), new Error('boom'), 'text', undefined]) expect(unreachableCode(e)).toBeUndefined();
});

it('PostgreSQL down: every mention and interaction is told so at once, nothing half-done; back up, the next message works', async () => {
  // Warm: the whole path works while PostgreSQL is up.
  const warm = h.mention(USERS.dev, 'help');
  await h.rest.waitFor(() => posts(warm.id).find((c) => /deploy <app>/.test(textOf(c.body))), 'the warm help', 30_000);
  const warmPrompt = posts(warm.id)[0]!;

  const canary = `canary-${uid('')}`;
  const since = h.rest.calls.length;
  const linesBefore = h.logs.lines.length;
  await pg.stop();
  let down: {
    help: { id: string; channelId: string }; deploy: { id: string; channelId: string };
    privateSlash: ReturnType<DiscordHarness['slash']>; publicSlash: ReturnType<DiscordHarness['slash']>;
    click: ReturnType<DiscordHarness['click']>; modal: ReturnType<DiscordHarness['submitModal']>;
  };
  try {
    down = {
      help: h.mention(USERS.dev, 'help'),
      deploy: h.mention(USERS.dev, 'deploy web image nginx:1.27 port 8080'),
      privateSlash: h.slash(USERS.dev, 'status'),
      publicSlash: h.slash(USERS.dev, 'restart', { app: 'web' }),
      click: h.click(USERS.dev, { messageId: String((warmPrompt.response as { id: string }).id), channelId: warm.id }, 'hoist.approve:act-zzzzzzzzzz'),
      modal: h.submitModal(USERS.dev, 'hoist.secret:web:API_TOKEN', canary, warm.id),
    };

    // Mentions: a reply to the request message, in the channel it was said in, within seconds.
    for (const m of [down.help, down.deploy]) {
      const reply = await h.rest.waitFor(() => posts(CHANNEL).find((c) => (c.body as { message_reference?: { message_id: string } }).message_reference?.message_id === m.id), `the answer to mention ${m.id}`, 10_000);
      expect(textOf(reply.body)).toBe(DB_UNAVAILABLE);
      expect((reply.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
    }

    // Interactions: acknowledged within Discord's 3 s as always, then a private follow-up with the sentence.
    const followUp = (token: string) => h.webhookCalls(token).find((c) => c.method === 'POST' && textOf(c.body) === DB_UNAVAILABLE);
    for (const [what, i, ackType, ackFlags] of [
      ['/hoist status', down.privateSlash, 5, EPHEMERAL], ['/hoist restart', down.publicSlash, 5, 0],
      ['an Approve click', down.click, 6, 0], ['the secret form', down.modal, 5, EPHEMERAL],
    ] as const) {
      const ack = await h.rest.waitFor(() => h.callbacks(i.id)[0], `the ack of ${what}`, 10_000);
      expect(callbackType(ack), what).toBe(ackType);
      expect(callbackFlags(ack), what).toBe(ackFlags);
      expect(ack.at - i.sentAt, what).toBeLessThan(3_000);
      const f = await h.rest.waitFor(() => followUp(i.token), `the follow-up to ${what}`, 10_000);
      expect(f.at - i.sentAt, what).toBeLessThan(5_000);
      expect(shownFlags(f), `${what} is answered privately`).toBe(EPHEMERAL);
    }
    // The public "thinking…" of the mutating slash command was removed, not left hanging or made the answer.
    expect(h.webhookCalls(down.publicSlash.token).filter((c) => c.method === 'DELETE' && c.path.endsWith('/messages/@original'))).toHaveLength(1);
    expect(h.webhookCalls(down.publicSlash.token).filter((c) => c.method === 'PATCH')).toEqual([]);

    await sleep(1_000); // anything half-done would show by now
    const during = h.rest.calls.slice(since);
    expect(during.filter((c) => /\/threads$/.test(c.path)), 'no thread was created').toEqual([]);
    expect(threadsFrom(down.help.id)).toEqual([]);
    expect(during.filter((c) => buttonsOf(c.body).length > 0), 'no card was posted').toEqual([]);
    // Exactly one answer per request: two mention replies in the channel, one follow-up per interaction.
    expect(during.filter((c) => c.method === 'POST' && /^\/channels\/\d+\/messages$/.test(c.path))).toHaveLength(2);
    for (const i of [down.privateSlash, down.publicSlash, down.click, down.modal]) {
      expect(h.webhookCalls(i.token).filter((c) => c.method === 'POST')).toHaveLength(1);
    }

    // Logged once per request, at warn, by code; never what was said or the secret.
    const lines = h.logs.lines.slice(linesBefore);
    const warns = lines.filter((l) => l.includes('discord.db_unavailable'));
    expect(warns).toHaveLength(6);
    for (const w of warns) {
      expect(JSON.parse(w)).toMatchObject({ level: 'warn', err: 'service_unavailable' });
    }
    expect(lines.filter((l) => l.includes('discord.handler_failed') || l.includes('reply.failed'))).toEqual([]);
    const logText = lines.join('\n');
    expect(logText).not.toContain('nginx:1.27');
    expect(logText).not.toContain('canary-');
    expect(h.rest.allRaw()).not.toContain('canary-');
  } finally {
    await pg.start();
  }

  // Back up: the very next message is handled normally (a thread from the request, the help in it).
  const after = h.mention(USERS.dev, 'help');
  const help = await h.rest.waitFor(() => posts(after.id).find((c) => /deploy <app>/.test(textOf(c.body))), 'help after recovery', 30_000);
  expect(textOf(help.body)).not.toContain(DB_UNAVAILABLE);
  expect(threadsFrom(after.id)).toHaveLength(1);
  const s = h.slash(USERS.dev, 'help');
  const answer = await h.rest.waitFor(() => h.webhookCalls(s.token).find((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original')), '/hoist help after recovery', 30_000);
  expect(textOf(answer.body)).toMatch(/deploy <app>/);
  // The requests refused during the outage were never claimed: nothing of them was stored.
  const claimed = rowsOf<{ event_id: string }>(await h.fx.dbh.db.execute(sql`select event_id from processed_events`)).map((r) => r.event_id);
  expect(claimed).toContain(after.id);
  for (const id of [down!.help.id, down!.deploy.id, down!.privateSlash.id, down!.publicSlash.id, down!.click.id, down!.modal.id]) expect(claimed).not.toContain(id);
});
