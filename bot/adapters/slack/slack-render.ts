/**
 * Core outbound messages → Block Kit. Contract: every piece of text that may carry user
 * input is escaped (`& < >`), stripped of control characters and sent `verbatim`, so
 * `<!channel>` or `<http://x|fake>` typed by a user is shown, never executed. Slack's
 * limits hold by construction: section text ≤ 3000 chars, ≤ 50 blocks, header ≤ 150;
 * what does not fit is cut with a note saying so.
 */
import type { CardView, Outbound } from '../../core/types.ts';

export const ACTION_APPROVE = 'hoist.approve';
export const ACTION_CANCEL = 'hoist.cancel';
export const ACTION_SHARE = 'hoist.share';
export const ACTION_SECRET = 'hoist.secret';
export const VIEW_SECRET = 'hoist.secret';

const SECTION_MAX = 3000;
const BLOCKS_MAX = 50;
const HEADER_MAX = 150;
/** Button values are capped at 2000 chars by Slack. */
const BUTTON_VALUE_MAX = 2000;
/** The notification/fallback text; Slack accepts 40k but truncates display far earlier. */
const FALLBACK_MAX = 3000;

export type Block = Record<string, unknown>;
export interface SlackMessage { text: string; blocks: Block[] }

// Control characters (but tab and newline) could hide text or break rendering; they are dropped.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Slack's three mrkdwn escapes, after dropping control characters. */
export function escapeText(s: string): string {
  return s.replace(CONTROL, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `slack:U123` (Hoist's user ids) → a real mention; applied after escaping, so only ids we format match. */
function mentions(escaped: string): string {
  return escaped.replace(/\bslack:([UW][A-Z0-9]{2,})\b/g, '<@$1>');
}

const rich = (s: string) => mentions(escapeText(s));
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
const plain = (text: string, max = HEADER_MAX) => ({ type: 'plain_text', text: clip(text.replace(CONTROL, ''), max), emoji: true });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Splits already-escaped text into ≤ max chunks at newlines where possible, never inside an entity. */
export function chunk(escaped: string, max = SECTION_MAX): string[] {
  const out: string[] = [];
  let rest = escaped;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = max;
    const amp = rest.lastIndexOf('&', cut - 1);
    if (amp > cut - 6 && rest.indexOf(';', amp) >= cut) cut = amp;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest.length || out.length === 0) out.push(rest);
  return out;
}

/** Text sections, cut to fit the block budget with a visible note. */
function textBlocks(text: string, budget: number): Block[] {
  const parts = chunk(rich(text) || ' ');
  if (parts.length <= budget) return parts.map(section);
  const kept = parts.slice(0, budget - 1);
  const dropped = parts.slice(budget - 1).reduce((n, p) => n + p.length, 0);
  return [...kept.map(section), { type: 'context', elements: [mrkdwn(`✂️ Truncated: ${dropped} more characters did not fit in one Slack message.`)] }];
}

function fallback(text: string): string {
  return clip(escapeText(text), FALLBACK_MAX);
}

function expiry(d: Date): string {
  const unix = Math.floor(d.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time}|${d.toISOString()}>`;
}

function cardBody(card: CardView): Block[] {
  const details = card.details.map((l) => `• ${rich(l)}`).join('\n');
  const blocks: Block[] = [
    { type: 'header', text: plain(card.title) },
    ...chunk(details || ' ').slice(0, 20).map(section),
    section(`*Requested by:* ${rich(card.requestedBy)}\n*Action id:* \`${escapeText(card.actionId)}\`\n*Expires:* ${expiry(card.expiresAt)}`),
  ];
  if (card.fourEyes) blocks.push({ type: 'context', elements: [mrkdwn('🔐 Production: needs an approver other than the requester.')] });
  return blocks;
}

function cardFallback(card: CardView): string {
  return fallback(`${card.title} (${card.actionId}) requested by ${card.requestedBy}: ${card.details.join('; ')}`);
}

export function renderCard(card: CardView): SlackMessage {
  return {
    text: cardFallback(card),
    blocks: [
      ...cardBody(card),
      {
        type: 'actions',
        block_id: 'hoist.decision',
        elements: [
          { type: 'button', action_id: ACTION_APPROVE, text: plain('Approve'), style: 'primary', value: card.actionId },
          { type: 'button', action_id: ACTION_CANCEL, text: plain('Cancel'), style: 'danger', value: card.actionId },
        ],
      },
    ],
  };
}

/** The card with its buttons replaced by what happened and who decided. */
export function renderOutcome(card: CardView, outcome: string): SlackMessage {
  return {
    text: fallback(`${card.title} (${card.actionId}): ${outcome}`),
    blocks: [...cardBody(card), section(`*Outcome:* ${rich(outcome)}`)],
  };
}

export function renderText(text: string): SlackMessage {
  return { text: fallback(text), blocks: textBlocks(text, BLOCKS_MAX) };
}

export function render(msg: Outbound): SlackMessage {
  switch (msg.kind) {
    case 'text': return renderText(msg.text);
    case 'card': return renderCard(msg.card);
    case 'outcome': return renderOutcome(msg.card, msg.outcome);
  }
}

/** A private answer with a button that reposts it publicly (the text rides in the button value). */
export function renderShareable(msg: Outbound): SlackMessage {
  const base = render(msg);
  if (msg.kind !== 'text') return base;
  const value = clip(msg.text, BUTTON_VALUE_MAX);
  const blocks = base.blocks.slice(0, BLOCKS_MAX - 1);
  blocks.push({ type: 'actions', block_id: 'hoist.share', elements: [{ type: 'button', action_id: ACTION_SHARE, text: plain('Share in channel'), value }] });
  return { text: base.text, blocks };
}

export function renderShared(userId: string, text: string): SlackMessage {
  const r = renderText(text);
  return { text: r.text, blocks: [{ type: 'context', elements: [mrkdwn(`Shared by <@${userId}>`)] }, ...r.blocks.slice(0, BLOCKS_MAX - 1)] };
}

/** Where a secret answer goes and what it is for; travels in private_metadata and button values, never the value. */
export interface SecretMeta { key: string; app: string; channel: string; thread?: string }

/** Posted (privately) where no trigger_id is at hand, e.g. after a mention: the click opens the modal. */
export function renderSecretPrompt(ask: SecretMeta): SlackMessage {
  const what = `${escapeText(ask.key)} on ${escapeText(ask.app)}`;
  return {
    text: `Enter the value for ${what} in a private form.`,
    blocks: [
      section(`🔒 Enter the value for *${what}* in a private form, so it never appears in the channel.`),
      { type: 'actions', block_id: 'hoist.secret', elements: [{ type: 'button', action_id: ACTION_SECRET, text: plain('Enter value'), style: 'primary', value: JSON.stringify(ask) }] },
    ],
  };
}

export function renderSecretModal(meta: SecretMeta): Block {
  return {
    type: 'modal',
    callback_id: VIEW_SECRET,
    private_metadata: JSON.stringify(meta),
    title: plain('Set env var', 24),
    submit: plain('Seal and propose', 24),
    close: plain('Cancel', 24),
    blocks: [
      section(`Value for *${escapeText(meta.key)}* on *${escapeText(meta.app)}*. It is sealed at once and never shown or logged; the change still needs an approval.`),
      {
        type: 'input',
        block_id: 'value',
        label: plain('Value', 2000),
        element: { type: 'plain_text_input', action_id: 'value', max_length: 3000, placeholder: plain('paste the value', 150) },
      },
    ],
  };
}
