/**
 * The pure edges of the Slack adapter: request signing (Slack's own known-answer vector),
 * Block Kit rendering within Slack's limits and escaping, payload normalization, the
 * app manifest.
 */
import { describe, expect, it } from 'vitest';
import { cleanText, normalizeDecision, normalizeMention, normalizeMessage, parseSecretMeta, secretAsChat, slashText } from '../../bot/adapters/slack/slack-normalize.ts';
import { chunk, escapeText, renderCard, renderOutcome, renderShareable, renderText } from '../../bot/adapters/slack/slack-render.ts';
import { slackManifest } from '../../bot/cli-slack.ts';
import { redactMessage } from '../../bot/pipeline/redact.ts';
import { signature } from '../fakes/slack-signer.ts';

const me = { botUserId: 'UHOIST', botId: 'BHOIST' };
const now = new Date();

describe('Slack request signing', () => {
  it('matches the known-answer vector from Slack\'s docs', () => {
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', body)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });
});

describe('Block Kit rendering', () => {
  const card = {
    actionId: 'act-abcdefghjk', title: 'Deploy web', details: ['image: hoist-demo/httpd:1', 'environment: production'],
    requestedBy: 'slack:U0DEV', expiresAt: new Date('2030-01-01T00:00:00Z'), fourEyes: true,
  };

  it('renders a card with the exact lines, requester, id, expiry and the two buttons', () => {
    const m = renderCard(card);
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('image: hoist-demo/httpd:1');
    expect(json).toContain('<@U0DEV>');
    expect(json).toContain('act-abcdefghjk');
    expect(json).toContain('2030-01-01T00:00:00.000Z');
    const actions = m.blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; value: string }> };
    expect(actions.elements.map((e) => [e.action_id, e.value])).toEqual([['hoist.approve', 'act-abcdefghjk'], ['hoist.cancel', 'act-abcdefghjk']]);
  });

  it('replaces the buttons with the outcome and who decided', () => {
    const m = renderOutcome(card, 'Approved by slack:U0APP; running now.');
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(m.blocks)).toContain('Approved by <@U0APP>; running now.');
  });

  it('escapes markdown injection and control characters; nothing user-typed becomes a link or a ping', () => {
    const m = renderText('hi <!channel> <http://evil.example|click me> & <@U123>\u0007\u0000 done');
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;http://evil.example|click me&gt;');
    expect(text).toContain('&amp;');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toMatch(/\\u0007|\\u0000/);
    expect(m.text).toContain('&lt;!channel&gt;');
    expect((m.blocks[0] as { text: { verbatim: boolean } }).text.verbatim).toBe(true);
  });

  it('respects Slack limits: sections ≤ 3000 chars, ≤ 50 blocks, with a truncation note', () => {
    const huge = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(60)} & <y>`).join('\n');
    const m = renderText(huge);
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    for (const b of m.blocks) {
      const t = (b as { text?: { text: string } }).text?.text;
      if (t) expect(t.length).toBeLessThanOrEqual(3000);
    }
    expect(JSON.stringify(m.blocks.at(-1))).toMatch(/Truncated/);
    expect(m.text.length).toBeLessThanOrEqual(3000);
    // Chunks never split an HTML entity.
    for (const c of chunk(escapeText('&'.repeat(5000)))) expect(c).toMatch(/^(&amp;)+$/);
    const shared = renderShareable({ kind: 'text', text: huge });
    expect(shared.blocks.length).toBeLessThanOrEqual(50);
    const share = shared.blocks.at(-1) as { elements: Array<{ action_id: string; value: string }> };
    expect(share.elements[0]!.action_id).toBe('hoist.share');
    expect(share.elements[0]!.value.length).toBeLessThanOrEqual(2000);
  });
});

describe('Slack payload normalization', () => {
  const mention = (text: string, extra: Record<string, unknown> = {}) => ({
    team_id: 'T1', event_id: 'Ev1', event: { type: 'app_mention', user: 'U1', channel: 'C1', ts: '100.1', text, ...extra },
  });

  it('takes the tenant from the signed team_id, strips the mention and starts a thread on the message', () => {
    const n = normalizeMention(mention('<@UHOIST> deploy web 1.2'), me, now);
    expect(n.kind).toBe('message');
    if (n.kind !== 'message') return;
    expect(n.msg.tenantId).toBe('slack:T1');
    expect(n.msg.userId).toBe('slack:U1');
    expect(n.msg.text).toBe('deploy web 1.2');
    expect(n.msg.conversation).toEqual({ platform: 'slack', tenantId: 'slack:T1', channelId: 'C1', threadId: '100.1' });
    expect(n.command).toBe('deploy');
  });

  it('undoes Slack formatting so values are exact', () => {
    expect(cleanText('<@UHOIST> set K=a&amp;b&lt;c&gt; on web', 'UHOIST')).toBe('set K=a&b<c> on web');
    expect(cleanText('deploy web from <https://git.example/x.git|git.example/x.git>', 'UHOIST')).toBe('deploy web from https://git.example/x.git');
  });

  it('ignores bots, itself, empty and too-long text get their own answers', () => {
    expect(normalizeMention(mention('hi', { bot_id: 'B9' }), me, now).kind).toBe('ignore');
    expect(normalizeMention(mention('hi', { user: 'UHOIST' }), me, now).kind).toBe('ignore');
    expect(normalizeMention(mention('<@UHOIST>'), me, now).kind).toBe('empty');
    expect(normalizeMention(mention(`<@UHOIST> ${'a'.repeat(40_001)}`), me, now).kind).toBe('too-long');
    expect(normalizeMention({ team_id: 'T1' }, me, now).kind).toBe('ignore');
    expect(normalizeMention('garbage', me, now).kind).toBe('ignore');
  });

  it('messages: DMs always, channel thread replies only flagged, mentions left to app_mention', () => {
    const msg = (event: Record<string, unknown>) => ({ team_id: 'T1', event_id: 'Ev2', event: { type: 'message', user: 'U1', channel: 'D1', ts: '5.5', text: 'status', ...event } });
    expect(normalizeMessage(msg({ channel_type: 'im' }), me, now).kind).toBe('message');
    expect(normalizeMessage(msg({ channel_type: 'im', subtype: 'bot_message', bot_id: 'BHOIST' }), me, now).kind).toBe('ignore');
    expect(normalizeMessage(msg({ channel: 'C1', channel_type: 'channel' }), me, now).kind).toBe('ignore');
    const reply = normalizeMessage(msg({ channel: 'C1', channel_type: 'channel', thread_ts: '4.4' }), me, now);
    expect(reply.kind === 'message' && reply.onlyInHoistThread).toBe(true);
    expect(normalizeMessage(msg({ channel: 'C1', channel_type: 'channel', thread_ts: '4.4', text: '<@UHOIST> status' }), me, now).kind).toBe('ignore');
  });

  it('slash commands: read-only answers are private, env opens the secret form', () => {
    expect(slashText('', 'UHOIST')).toEqual({ text: 'help', private: true, asksSecret: false });
    expect(slashText('status web', 'UHOIST').private).toBe(true);
    expect(slashText('deploy web 1.2', 'UHOIST').private).toBe(false);
    expect(slashText('env web API_KEY', 'UHOIST')).toEqual({ text: 'set API_KEY on web', private: true, asksSecret: true });
    expect(slashText('env web API_KEY=x', 'UHOIST').text).toBe('set API_KEY=x on web');
  });

  it('decisions carry the card ts and refuse malformed action ids', () => {
    const body = { team: { id: 'T1' }, user: { id: 'U2', team_id: 'T1' }, channel: { id: 'C1' }, message: { ts: '9.9', thread_ts: '8.8' }, actions: [{ action_ts: '1' }] };
    const d = normalizeDecision(body, 'act-abcdefghjk', 'approve');
    expect(d).toMatchObject({ tenantId: 'slack:T1', userId: 'slack:U2', actionId: 'act-abcdefghjk', cardRef: { id: '9.9' }, conversation: { channelId: 'C1', threadId: '8.8' } });
    expect(normalizeDecision(body, 'DROP TABLE', 'approve')).toBeUndefined();
    expect(normalizeDecision({ user: { id: 'U2' } }, 'act-abcdefghjk', 'approve')).toBeUndefined();
  });

  it('a modal value becomes exactly the chat form the redact stage seals whole', () => {
    const meta = parseSecretMeta(JSON.stringify({ key: 'API_TOKEN', app: 'web', channel: 'C1', thread: '1.1' }))!;
    for (const value of ['plain', 'with spaces & "quotes" \\ back', "it's", '"q"']) {
      const red = redactMessage(secretAsChat(meta, value));
      expect(red.text).toBe('set API_TOKEN=⟦secret:1:env_value⟧ on web');
      expect([...red.secrets.values()]).toEqual([value]);
    }
    expect(parseSecretMeta('{"key":"A B","app":"web","channel":"C1"}')).toBeUndefined();
    expect(parseSecretMeta('nope')).toBeUndefined();
  });
});

describe('hoist slack manifest', () => {
  it('HTTP: request URLs on /slack/events, the scopes, events and /hoist', () => {
    const y = slackManifest({ socket: false, url: 'https://hoist.example.com/' });
    expect(y).toContain('request_url: "https://hoist.example.com/slack/events"');
    for (const s of ['app_mentions:read', 'chat:write', 'commands', 'im:history', 'im:write', 'files:write', 'channels:history']) expect(y).toContain(`- ${s}`);
    for (const e of ['app_mention', 'message.im', 'message.channels']) expect(y).toContain(`- ${e}`);
    expect(y).toContain('command: /hoist');
    expect(y).toContain('socket_mode_enabled: false');
  });
  it('Socket Mode: no request URLs', () => {
    const y = slackManifest({ socket: true });
    expect(y).toContain('socket_mode_enabled: true');
    expect(y).not.toContain('request_url');
  });
});
