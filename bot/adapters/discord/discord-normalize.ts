/**
 * Discord events → core events. Nothing here does I/O: the adapter extracts plain inputs
 * from discord.js objects, these functions decide what they mean.
 *
 * Contract:
 * - Tenant: `discord:<guild_id>` from the gateway event (message or interaction), never from
 *   a custom_id or modal. A DM has no guild, so it is the user's personal tenant
 *   `discord:dm:<user id>`: nothing leaks between a guild and a DM, and in a DM only
 *   `HOIST_ADMINS` (or people they grant) may do more than read-only things.
 * - Users: `discord:<user id>`. Bots, webhooks, system messages and Hoist itself are ignored.
 * - Conversations: in a guild, `channelId` is the text channel and `threadId` the thread the
 *   conversation lives in (a thread is a channel: posts go to `threadId ?? channelId`). In a
 *   DM there are no threads: `threadId` is the request's message id and posts reply to it,
 *   so a request and its answers form a reply chain.
 * - A mention with nothing but whitespace asks for help.
 */
import type { ConversationRef, Decision, InboundMessage } from '../../core/types.ts';
import { ACTION_APPROVE, ACTION_CANCEL, ACTION_SECRET } from './discord-render.ts';

export type Place = 'dm' | 'channel' | 'thread';

/** Read-only verbs: their slash-command answers are private (ephemeral) to the asker. */
export const READ_ONLY = new Set(['status', 'apps', 'history', 'logs', 'help', 'privacy']);
/** Known verbs: the bounded label set of the requests metric. */
const VERBS = new Set([...READ_ONLY, 'deploy', 'rollback', 'restart', 'stop', 'start', 'scale', 'set', 'unset', 'grant', 'revoke']);

/** First word of a request, for metrics and thread names; unknown words collapse to `request`. */
export function verbOf(text: string): string {
  const w = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return VERBS.has(w) ? w : 'request';
}

export const isDmTenant = (tenantId: string) => tenantId.startsWith('discord:dm:');

export function tenantOf(guildId: string | null | undefined, userId: string): string {
  return guildId ? `discord:${guildId}` : `discord:dm:${userId}`;
}

export interface MessageInput {
  id: string;
  content: string;
  authorId: string;
  authorBot: boolean;
  /** Sent by a webhook or Discord itself (joins, pins, thread-created notices). */
  notFromAPerson: boolean;
  guildId?: string | null;
  channelId: string;
  place: Place;
  /** The thread's parent channel (place = thread). */
  parentId?: string | null;
}

export type Normalized =
  | { kind: 'message'; msg: InboundMessage; verb: string; needsThread: boolean; onlyInHoistThread: boolean }
  | { kind: 'ignore'; reason: string };

export function mentionPattern(botId: string): RegExp {
  return new RegExp(`<@!?${botId}>`, 'g');
}

/** A message in a guild channel (mentions only), a thread (mentions, or any reply in a Hoist thread) or a DM. */
export function normalizeMessage(m: MessageInput, botId: string, now: Date): Normalized {
  if (m.authorBot || m.notFromAPerson) return { kind: 'ignore', reason: 'not from a person' };
  if (m.authorId === botId) return { kind: 'ignore', reason: 'from Hoist' };
  const mentioned = mentionPattern(botId).test(m.content);
  const text = m.content.replace(mentionPattern(botId), ' ').trim();
  const tenantId = tenantOf(m.place === 'dm' ? undefined : m.guildId, m.authorId);
  if (m.place !== 'dm' && !m.guildId) return { kind: 'ignore', reason: 'guild message without a guild' };
  let conv: ConversationRef;
  let needsThread = false;
  let onlyInHoistThread = false;
  switch (m.place) {
    case 'dm':
      conv = { platform: 'discord', tenantId, channelId: m.channelId, threadId: m.id };
      break;
    case 'channel':
      if (!mentioned) return { kind: 'ignore', reason: 'channel message without a mention' };
      conv = { platform: 'discord', tenantId, channelId: m.channelId };
      needsThread = true;
      break;
    case 'thread':
      conv = { platform: 'discord', tenantId, channelId: m.parentId ?? m.channelId, threadId: m.channelId };
      if (!mentioned) {
        // Chatter in a thread is for Hoist only in threads Hoist started or answered in.
        if (!text) return { kind: 'ignore', reason: 'empty thread reply' };
        onlyInHoistThread = true;
      }
      break;
  }
  const said = text || 'help';
  const msg: InboundMessage = { platform: 'discord', eventId: m.id, tenantId, userId: `discord:${m.authorId}`, text: said, conversation: conv, receivedAt: now };
  return { kind: 'message', msg, verb: verbOf(said), needsThread, onlyInHoistThread };
}

/** Where an interaction happened, from the gateway payload. */
export interface InteractionInput {
  id: string;
  userId: string;
  userBot: boolean;
  guildId?: string | null;
  channelId: string;
  place: Place;
  parentId?: string | null;
  /** The message a component sits on. */
  messageId?: string;
}

export function conversationOf(i: InteractionInput): ConversationRef {
  const tenantId = tenantOf(i.guildId, i.userId);
  if (i.place === 'thread') return { platform: 'discord', tenantId, channelId: i.parentId ?? i.channelId, threadId: i.channelId };
  return { platform: 'discord', tenantId, channelId: i.channelId };
}

export type CustomId =
  | { kind: 'decision'; decision: 'approve' | 'cancel'; actionId: string }
  | { kind: 'secret'; app: string; key: string };

const ACTION_ID = /^act-[a-z0-9]{4,40}$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const APP = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Our own custom_ids, re-validated (a client can send any string); anything else is unknown. */
export function parseCustomId(id: string): CustomId | undefined {
  const [head, ...rest] = id.split(':');
  if ((head === ACTION_APPROVE || head === ACTION_CANCEL) && rest.length === 1 && ACTION_ID.test(rest[0]!)) {
    return { kind: 'decision', decision: head === ACTION_APPROVE ? 'approve' : 'cancel', actionId: rest[0]! };
  }
  if (head === ACTION_SECRET && rest.length === 2 && APP.test(rest[0]!) && KEY.test(rest[1]!)) {
    return { kind: 'secret', app: rest[0]!, key: rest[1]! };
  }
  return undefined;
}

export function validSecretTarget(app: string, key: string): boolean {
  return APP.test(app) && KEY.test(key);
}

/** A click on Approve / Cancel; the card's message id becomes `cardRef`, so the outcome replaces the card. */
export function normalizeDecision(i: InteractionInput, c: Extract<CustomId, { kind: 'decision' }>): Decision {
  const conversation = conversationOf(i);
  return {
    platform: 'discord', eventId: i.id, tenantId: conversation.tenantId, userId: `discord:${i.userId}`,
    actionId: c.actionId, decision: c.decision, conversation,
    ...(i.messageId ? { cardRef: { id: i.messageId } } : {}),
  };
}

/** The value typed in the modal, as the one chat form the redact stage seals whole: `set KEY="<value>" on app`. */
export function secretAsChat(app: string, key: string, value: string): string {
  return `set ${key}="${value.replace(/[\\"]/g, '\\$&')}" on ${app}`;
}

export type SlashOption = string | number | boolean;

export interface SlashRequest {
  /** The chat form the pipeline reads. */
  text: string;
  verb: string;
  /** Answered privately (ephemeral) to the asker. */
  private: boolean;
  /** `/hoist set`: open the value modal instead. */
  secret?: { app: string; key: string };
}

/** One line, no control characters: an option is a word or a phrase, never a second command. */
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const clean = (v: SlashOption | undefined) => (v === undefined ? undefined : String(v).replace(/[\s\u0000-\u001F\u007F]+/g, ' ').trim() || undefined);

/** `/hoist <subcommand> <options>` → the chat form of PRODUCT.md. */
export function slashText(subcommand: string, opts: Record<string, SlashOption | undefined>): SlashRequest {
  const o = (k: string) => clean(opts[k]);
  const app = o('app') ?? '';
  const parts: string[] = [];
  const add = (...xs: Array<string | undefined | false>) => { for (const x of xs) if (x) parts.push(x); };
  switch (subcommand) {
    case 'deploy':
      add('deploy', app);
      if (o('tag')) add(o('tag'));
      else if (o('image')) add('image', o('image'));
      else if (o('from')) add('from', o('from'));
      if (o('port')) add('port', o('port'));
      if (o('to')) add('to', o('to'));
      if (o('replicas')) add('replicas', o('replicas'));
      break;
    case 'rollback': add('rollback', app, o('to') && `to ${o('to')}`); break;
    case 'restart': case 'stop': case 'start': case 'history': add(subcommand, app); break;
    case 'scale': add('scale', app, 'to', o('replicas') ?? ''); break;
    case 'set': return { text: `set ${o('key') ?? ''} on ${app}`, verb: 'set', private: true, secret: { app, key: o('key') ?? '' } };
    case 'unset': add('unset', o('key'), 'on', app); break;
    case 'status': add('status', o('app')); break;
    case 'logs': add('logs', app, o('lines')); break;
    case 'privacy': add('privacy', o('request') !== 'show' && o('request')); break;
    case 'grant': add('grant', o('user') && `<@${o('user')}>`, o('role')); break;
    case 'revoke': add('revoke', o('user') && `<@${o('user')}>`); break;
    case 'apps': case 'help': add(subcommand); break;
    default: add('help');
  }
  const text = parts.join(' ');
  const verb = verbOf(text);
  return { text, verb, private: READ_ONLY.has(verb) };
}
