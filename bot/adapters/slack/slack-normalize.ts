/**
 * Slack payloads → core events. Contract: the tenant is `slack:<team_id>` from the signed
 * payload (never from a button value or private_metadata); users are `slack:<user id>`;
 * the bot's own mention is stripped and Slack's formatting (`&lt;`, `<url|label>`) undone,
 * so `set KEY=a&b on app` seals `a&b`. A top-level mention starts a thread on its own ts.
 * Nothing here does I/O: the adapter decides what to do with each result.
 */
import type { ConversationRef, Decision, InboundMessage } from '../../core/types.ts';
import type { SecretMeta } from './slack-render.ts';

/** Slack caps a message at 40,000 characters; anything longer is refused unread. */
export const MAX_TEXT = 40_000;

/** Read-only subcommands whose slash-command answers are private to the asker. */
const READ_ONLY = new Set(['status', 'apps', 'history', 'logs', 'help', 'privacy']);
/** Known verbs: the bounded label set of the requests metric. */
const VERBS = new Set([...READ_ONLY, 'deploy', 'rollback', 'restart', 'stop', 'start', 'scale', 'set', 'unset', 'grant', 'revoke', 'env']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export type Normalized =
  | { kind: 'message'; msg: InboundMessage; command: string; onlyInHoistThread?: boolean }
  | { kind: 'empty'; conv: ConversationRef }
  | { kind: 'too-long'; conv: ConversationRef; length: number }
  | { kind: 'ignore'; reason: string };

export interface BotIdentity { botUserId: string; botId?: string }

/** First word of a request, for metrics; unknown words collapse to `other` to bound cardinality. */
export function commandOf(text: string): string {
  const w = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return VERBS.has(w) ? w : w ? 'other' : 'empty';
}

/** Undo Slack's message formatting and remove the bot's own mention. */
export function cleanText(raw: string, botUserId: string): string {
  return raw
    .replace(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), ' ')
    .replace(/<((?:https?|ftp):\/\/[^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<mailto:[^|>]+\|([^>]+)>/g, '$1')
    .replace(/<mailto:([^|>]+)>/g, '$1')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    .trim();
}

function build(tenant: string, user: string, eventId: string, text: string, conv: ConversationRef, receivedAt: Date): Normalized {
  if (text.length > MAX_TEXT) return { kind: 'too-long', conv, length: text.length };
  if (!text) return { kind: 'empty', conv };
  const msg: InboundMessage = { platform: 'slack', eventId, tenantId: tenant, userId: `slack:${user}`, text, conversation: conv, receivedAt };
  return { kind: 'message', msg, command: commandOf(text) };
}

/** The fields every event callback must carry; undefined when any is missing (malformed). */
function envelope(body: unknown) {
  const b = obj(body);
  const e = obj(b?.event);
  const team = str(b?.team_id);
  const eventId = str(b?.event_id);
  const channel = str(e?.channel);
  const ts = str(e?.ts);
  if (!b || !e || !team || !eventId || !channel || !ts) return undefined;
  return { e, team, eventId, channel, ts, user: str(e.user) };
}

/** `app_mention` in a channel: answered in a thread on the mention (or the thread it is in). */
export function normalizeMention(body: unknown, me: BotIdentity, now: Date): Normalized {
  const env = envelope(body);
  if (!env) return { kind: 'ignore', reason: 'malformed app_mention' };
  const { e, team, eventId, channel, ts, user } = env;
  if (e.bot_id || !user || user === me.botUserId) return { kind: 'ignore', reason: 'from a bot' };
  // DMs arrive as message.im; a mention there would otherwise be handled twice.
  if (channel.startsWith('D')) return { kind: 'ignore', reason: 'mention in a DM' };
  const conv: ConversationRef = { platform: 'slack', tenantId: `slack:${team}`, channelId: channel, threadId: str(e.thread_ts) ?? ts };
  return build(`slack:${team}`, user, eventId, cleanText(String(e.text ?? ''), me.botUserId), conv, now);
}

/**
 * `message` events: every plain message in a DM with Hoist, and replies in channel threads
 * (flagged `onlyInHoistThread`: the adapter keeps them only in threads Hoist started).
 * Messages that mention Hoist are left to `app_mention`, so nothing is handled twice.
 */
export function normalizeMessage(body: unknown, me: BotIdentity, now: Date): Normalized {
  const env = envelope(body);
  if (!env) return { kind: 'ignore', reason: 'malformed message' };
  const { e, team, eventId, channel, ts, user } = env;
  const subtype = str(e.subtype);
  if (subtype && subtype !== 'thread_broadcast' && subtype !== 'file_share') return { kind: 'ignore', reason: `subtype ${subtype}` };
  if (e.bot_id || (me.botId && e.bot_id === me.botId) || !user || user === me.botUserId) return { kind: 'ignore', reason: 'from a bot' };
  const raw = String(e.text ?? '');
  const thread = str(e.thread_ts);
  const tenant = `slack:${team}`;
  if (e.channel_type === 'im') {
    const conv: ConversationRef = { platform: 'slack', tenantId: tenant, channelId: channel, ...(thread ? { threadId: thread } : {}) };
    return build(tenant, user, eventId, cleanText(raw, me.botUserId), conv, now);
  }
  if (!thread || thread === ts) return { kind: 'ignore', reason: 'top-level channel message' };
  if (raw.includes(`<@${me.botUserId}`)) return { kind: 'ignore', reason: 'mention (app_mention handles it)' };
  const conv: ConversationRef = { platform: 'slack', tenantId: tenant, channelId: channel, threadId: thread };
  const r = build(tenant, user, eventId, cleanText(raw, me.botUserId), conv, now);
  // Chatter in a Hoist thread that is empty after clean-up is not addressed to Hoist.
  if (r.kind === 'empty') return { kind: 'ignore', reason: 'empty thread reply' };
  return r.kind === 'message' ? { ...r, onlyInHoistThread: true } : r;
}

export interface SlashCommand {
  text: string;
  /** Answers go privately to the asker (read-only queries, and the modal form). */
  private: boolean;
  /** `set KEY on app` / `env app KEY`: a value will be asked for in a modal. */
  asksSecret: boolean;
}

/** `/hoist <subcommand>` text → the chat form the pipeline understands (`env app KEY[=v]` → `set KEY[=v] on app`). */
export function slashText(raw: string, botUserId: string): SlashCommand {
  let text = cleanText(raw, botUserId);
  if (!text) text = 'help';
  const env = /^env\s+(\S+)\s+([A-Za-z_][A-Za-z0-9_]*)(=[\s\S]*)?$/i.exec(text);
  if (env) text = `set ${env[2]}${env[3] ?? ''} on ${env[1]}`;
  const verb = text.split(/\s+/)[0]!.toLowerCase();
  const asksSecret = /^set\s+[A-Za-z_][A-Za-z0-9_]*\s+on\s+\S+$/i.test(text);
  return { text, private: READ_ONLY.has(verb) || asksSecret, asksSecret };
}

export interface CommandInput { eventId: string; tenantId: string; user: string; channel: string; triggerId?: string; responseUrl?: string; raw: string }

export function commandInput(body: unknown): CommandInput | undefined {
  const b = obj(body);
  const team = str(b?.team_id);
  const user = str(b?.user_id);
  const channel = str(b?.channel_id);
  const trigger = str(b?.trigger_id);
  if (!team || !user || !channel || !trigger) return undefined;
  return { eventId: `cmd:${trigger}`, tenantId: `slack:${team}`, user, channel, triggerId: trigger, responseUrl: str(b?.response_url), raw: String(b?.text ?? '') };
}

/** Where an interaction (button, modal) happened, from the signed payload. */
export interface InteractionInput { tenantId: string; user: string; channel?: string; thread?: string; messageTs?: string; triggerId?: string; responseUrl?: string }

export function interactionInput(body: unknown): InteractionInput | undefined {
  const b = obj(body);
  const team = str(obj(b?.team)?.id) ?? str(obj(b?.user)?.team_id);
  const user = str(obj(b?.user)?.id);
  if (!team || !user) return undefined;
  const container = obj(b?.container);
  const message = obj(b?.message);
  return {
    tenantId: `slack:${team}`, user,
    channel: str(obj(b?.channel)?.id) ?? str(container?.channel_id),
    thread: str(message?.thread_ts) ?? str(container?.thread_ts),
    messageTs: str(message?.ts) ?? str(container?.message_ts),
    triggerId: str(b?.trigger_id),
    responseUrl: str(b?.response_url),
  };
}

const ACTION_ID = /^act-[a-z0-9]{4,40}$/;

/** A click on Approve / Cancel. The card's ts becomes `cardRef`, so the outcome replaces the card. */
export function normalizeDecision(body: unknown, actionValue: unknown, decision: 'approve' | 'cancel'): Decision | undefined {
  const i = interactionInput(body);
  const value = str(actionValue);
  if (!i || !i.channel || !value || !ACTION_ID.test(value)) return undefined;
  const b = obj(body)!;
  const actTs = str(obj((b.actions as unknown[] | undefined)?.[0])?.action_ts) ?? String(Date.now());
  return {
    platform: 'slack', eventId: `act:${i.messageTs ?? ''}:${actTs}`, tenantId: i.tenantId, userId: `slack:${i.user}`,
    actionId: value, decision,
    conversation: { platform: 'slack', tenantId: i.tenantId, channelId: i.channel, ...(i.thread ? { threadId: i.thread } : {}) },
    ...(i.messageTs ? { cardRef: { id: i.messageTs } } : {}),
  };
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const APP = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Parses our own SecretMeta back (from a button value or private_metadata) and re-checks its shape. */
export function parseSecretMeta(json: unknown): SecretMeta | undefined {
  try {
    const m = obj(JSON.parse(String(json)));
    const key = str(m?.key); const app = str(m?.app); const channel = str(m?.channel); const thread = str(m?.thread);
    if (!key || !app || !channel || !KEY.test(key) || !APP.test(app) || !/^[A-Z0-9]+$/.test(channel)) return undefined;
    return { key, app, channel, ...(thread ? { thread } : {}) };
  } catch {
    return undefined;
  }
}

/** The value typed in the modal, as the one chat form that seals it: `set KEY="<value>" on app`. */
export function secretAsChat(meta: SecretMeta, value: string): string {
  return `set ${meta.key}="${value.replace(/[\\"]/g, '\\$&')}" on ${meta.app}`;
}

export function submittedValue(view: unknown): string | undefined {
  const v = obj(obj(obj(obj(view)?.state)?.values)?.value);
  const input = obj(v?.value);
  return typeof input?.value === 'string' ? input.value : undefined;
}
