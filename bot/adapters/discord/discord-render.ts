/**
 * Core outbound messages → Discord message bodies (API JSON: `content`, `embeds`,
 * `components`). Contract: Discord's limits hold by construction — content ≤ 2000 chars
 * (longer text is split into several messages, at newlines where possible), embed title
 * ≤ 256, description ≤ 4096, field ≤ 1024, ≤ 25 fields, whole embed ≤ 6000; whatever is cut
 * says so in the message. Nothing rendered here ever pings: every body carries
 * `allowed_mentions: { parse: [] }`, so `@everyone` typed by a user is shown, not sent.
 */
import type { CardView, Outbound } from '../../core/types.ts';

export const ACTION_APPROVE = 'hoist.approve';
export const ACTION_CANCEL = 'hoist.cancel';
export const ACTION_SECRET = 'hoist.secret';
/** The modal's single text input. */
export const SECRET_INPUT = 'value';

export const CONTENT_MAX = 2000;
export const LIMITS = { title: 256, description: 4096, fieldName: 256, fieldValue: 1024, fields: 25, footer: 2048, total: 6000 } as const;
/** A long answer becomes at most this many messages; the rest is cut with a note. */
export const MAX_PARTS = 10;
/** custom_id is capped at 100 characters by Discord. */
export const CUSTOM_ID_MAX = 100;
const MODAL_TITLE_MAX = 45;

const COLOR = { card: 0x1d3557, approved: 0x2a9d8f, cancelled: 0x6c757d } as const;

export interface EmbedField { name: string; value: string; inline?: boolean }
export interface Embed {
  title?: string;
  description?: string;
  color?: number;
  fields?: EmbedField[];
  footer?: { text: string };
}
export interface Button { type: 2; style: 1 | 2 | 3 | 4; label: string; custom_id: string }
export interface ActionRow { type: 1; components: Button[] }
export interface DiscordMessage {
  content?: string;
  embeds?: Embed[];
  components?: ActionRow[];
  allowed_mentions: { parse: never[] };
}

const NO_PINGS = { parse: [] as never[] };
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** `discord:123…` (Hoist's user ids) → a mention, rendered by Discord but never pinging (allowed_mentions). */
export function mentions(s: string): string {
  return s.replace(CONTROL, '').replace(/\bdiscord:(\d{5,25})\b/g, '<@$1>');
}

export function clip(s: string, max: number, note = '…'): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - note.length))}${note}`;
}

const cutNote = (n: number) => `\n✂️ (truncated: ${n.toLocaleString('en')} more characters did not fit)`;

/** Clips to max, ending in a note that says how much was cut. */
function clipNoted(s: string, max: number): string {
  if (s.length <= max) return s;
  let keep = max - cutNote(s.length).length;
  keep = Math.max(0, keep);
  return `${s.slice(0, keep)}${cutNote(s.length - keep)}`;
}

/** Splits text into ≤ max chunks at newlines where possible (never mid surrogate pair). */
export function split(text: string, max = CONTENT_MAX): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = max;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest.length || out.length === 0) out.push(rest || '\u200b');
  return out;
}

/** Plain text as one or more messages, each ≤ 2000 chars; past MAX_PARTS the last part says what was cut. */
export function renderText(text: string): DiscordMessage[] {
  const parts = split(mentions(text) || '\u200b');
  if (parts.length > MAX_PARTS) {
    const kept = parts.slice(0, MAX_PARTS);
    const dropped = parts.slice(MAX_PARTS).reduce((n, p) => n + p.length, 0);
    const note = cutNote(dropped);
    kept[MAX_PARTS - 1] = `${kept[MAX_PARTS - 1]!.slice(0, CONTENT_MAX - note.length)}${note}`;
    return kept.map((content) => ({ content, allowed_mentions: NO_PINGS }));
  }
  return parts.map((content) => ({ content, allowed_mentions: NO_PINGS }));
}

/** One message (edits cannot split): text past 2000 chars is cut with a note. */
export function renderTextSingle(text: string): DiscordMessage {
  return { content: clipNoted(mentions(text) || '\u200b', CONTENT_MAX), allowed_mentions: NO_PINGS };
}

const embedSize = (e: Embed) =>
  (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0)
  + (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);

/** Enforces every embed limit; what is cut is replaced by a visible note. */
export function fitEmbed(e: Embed): Embed {
  const out: Embed = { ...e };
  if (out.title !== undefined) out.title = clip(out.title || '\u200b', LIMITS.title);
  if (out.description !== undefined) out.description = clipNoted(out.description, LIMITS.description);
  if (out.footer) out.footer = { text: clip(out.footer.text, LIMITS.footer) };
  if (out.fields) {
    const fields = out.fields.slice(0, LIMITS.fields).map((f) => ({ ...f, name: clip(f.name || '\u200b', LIMITS.fieldName), value: clipNoted(f.value || '\u200b', LIMITS.fieldValue) }));
    if (out.fields.length > LIMITS.fields) fields[LIMITS.fields - 1] = { name: '✂️', value: `${out.fields.length - LIMITS.fields + 1} more fields did not fit.` };
    out.fields = fields;
  }
  const over = embedSize(out) - LIMITS.total;
  if (over > 0 && out.description) {
    const room = Math.max(0, out.description.length - over);
    out.description = clipNoted(out.description, Math.max(room, cutNote(out.description.length).length + 1));
  }
  // Still too big (huge fields): drop fields from the end, saying so.
  while (embedSize(out) > LIMITS.total && out.fields && out.fields.length > 1) {
    out.fields = out.fields.slice(0, -2).concat({ name: '✂️', value: 'Some fields did not fit in one Discord message.' });
  }
  return out;
}

function cardEmbed(card: CardView, color: number, outcome?: string): Embed {
  const unix = Math.floor(card.expiresAt.getTime() / 1000);
  const fields: EmbedField[] = [
    { name: 'Requested by', value: mentions(card.requestedBy), inline: true },
    { name: 'Action id', value: `\`${card.actionId}\``, inline: true },
    { name: 'Expires', value: `<t:${unix}:R> (${card.expiresAt.toISOString()})`, inline: true },
  ];
  if (outcome !== undefined) fields.push({ name: 'Outcome', value: mentions(outcome) });
  return fitEmbed({
    title: card.title.replace(CONTROL, ''),
    description: card.details.map((l) => `• ${mentions(l)}`).join('\n') || '\u200b',
    color,
    fields,
    ...(card.fourEyes ? { footer: { text: '🔐 Production: needs an approver other than the requester.' } } : {}),
  });
}

export function renderCard(card: CardView): DiscordMessage {
  return {
    content: '',
    embeds: [cardEmbed(card, COLOR.card)],
    components: [{
      type: 1,
      components: [
        { type: 2, style: 3, label: 'Approve', custom_id: `${ACTION_APPROVE}:${card.actionId}` },
        { type: 2, style: 4, label: 'Cancel', custom_id: `${ACTION_CANCEL}:${card.actionId}` },
      ],
    }],
    allowed_mentions: NO_PINGS,
  };
}

/** The card with its buttons removed (`components: []`) and the outcome added. */
export function renderOutcome(card: CardView, outcome: string): DiscordMessage {
  const color = /^Cancelled/.test(outcome) ? COLOR.cancelled : COLOR.approved;
  return { content: '', embeds: [cardEmbed(card, color, outcome)], components: [], allowed_mentions: NO_PINGS };
}

/** Every Outbound as the messages to post (text may become several). */
export function render(msg: Outbound): DiscordMessage[] {
  switch (msg.kind) {
    case 'text': return renderText(msg.text);
    case 'card': return [renderCard(msg.card)];
    case 'outcome': return [renderOutcome(msg.card, msg.outcome)];
  }
}

/** Every Outbound as one message body, for edits. */
export function renderOne(msg: Outbound): DiscordMessage {
  return msg.kind === 'text' ? renderTextSingle(msg.text) : render(msg)[0]!;
}

/** `hoist.secret:<app>:<KEY>`; undefined when it would not fit Discord's 100-char custom_id. */
export function secretCustomId(app: string, key: string): string | undefined {
  const id = `${ACTION_SECRET}:${app}:${key}`;
  return id.length <= CUSTOM_ID_MAX ? id : undefined;
}

/** Posted where the value is needed; the click opens a private modal for whoever clicks. */
export function renderSecretPrompt(userId: string, app: string, key: string): DiscordMessage {
  const customId = secretCustomId(app, key);
  const who = mentions(userId);
  if (!customId) {
    return renderTextSingle(`${who}: that variable name is too long for a form; send the value as set ${key}=<value> on ${app} in a direct message to me.`);
  }
  return {
    content: `🔒 ${who}: enter the value for **${key}** on **${app}** in a private form — it is sealed at once and never shown.`,
    components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Enter value', custom_id: customId }] }],
    allowed_mentions: NO_PINGS,
  };
}

export interface ModalBody {
  custom_id: string;
  title: string;
  components: Array<{ type: 1; components: Array<{ type: 4; custom_id: string; style: 1 | 2; label: string; required: boolean; max_length: number; placeholder: string }> }>;
}

export function renderSecretModal(customId: string, app: string, key: string): ModalBody {
  return {
    custom_id: customId,
    title: clip(`Set ${key} on ${app}`, MODAL_TITLE_MAX),
    components: [{
      type: 1,
      components: [{ type: 4, custom_id: SECRET_INPUT, style: 2, label: 'Value (sealed at once, never shown)', required: true, max_length: 4000, placeholder: 'paste the value' }],
    }],
  };
}

/** The public root a slash command's thread hangs from: names the verb only, never the options. */
export function renderThreadRoot(userId: string, verb: string): DiscordMessage {
  return renderTextSingle(`${mentions(userId)} asked Hoist to ${verb}; the details follow in this thread.`);
}

/** Thread names show the verb only: the request itself may hold a secret. */
export function threadName(verb: string): string {
  return clip(`hoist ${verb}`, 100);
}
