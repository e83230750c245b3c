/**
 * Console rendering. A card prints its action id alone on the last line (no other card
 * line is a single word), so scripts can read it with `tail -1` or a regex.
 */
import type { CardView, Outbound } from '../../core/types.ts';

function expiry(d: Date): string {
  const mins = Math.max(0, Math.round((d.getTime() - Date.now()) / 60000));
  return `${d.toISOString().slice(11, 19)} UTC (in ${mins} min)`;
}

export function renderCard(c: CardView): string {
  return [
    `┌─ Proposal: ${c.title}`,
    ...c.details.map((l) => `│  ${l}`),
    `│  requested by ${c.requestedBy} · expires ${expiry(c.expiresAt)}`,
    c.fourEyes ? '│  production: needs an approver other than the requester' : null,
    `│  reply "approve ${c.actionId}" or "cancel ${c.actionId}"`,
    '└─ action id:',
    c.actionId,
  ].filter((l): l is string => l !== null).join('\n');
}

export function render(msg: Outbound): string {
  switch (msg.kind) {
    case 'text': return msg.text;
    case 'card': return renderCard(msg.card);
    case 'outcome': return `${msg.card.title} (${msg.card.actionId}): ${msg.outcome}`;
  }
}
