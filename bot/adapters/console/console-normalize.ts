/**
 * Console input → core events. `approve <id>` / `cancel <id>` stand in for the buttons;
 * `:user <name>` switches the current user; everything else is a chat message.
 */
import type { ConversationRef, Decision, InboundMessage } from '../../core/types.ts';

export const CONSOLE_TENANT = 'console:local';

export type ConsoleInput =
  | { kind: 'message'; msg: InboundMessage }
  | { kind: 'decision'; decision: Decision }
  | { kind: 'switch-user'; user: string }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; text: string };

export function conversation(): ConversationRef {
  return { platform: 'console', tenantId: CONSOLE_TENANT, channelId: 'terminal' };
}

export function normalizeLine(line: string, user: string, eventId: string): ConsoleInput {
  const text = line.trim();
  if (!text) return { kind: 'empty' };
  if (text === ':quit' || text === ':q' || text === 'exit' || text === 'quit') return { kind: 'quit' };
  const sw = /^:user(?:\s+(\S+))?$/.exec(text);
  if (sw) {
    if (!sw[1] || !/^[A-Za-z0-9_.-]{1,64}$/.test(sw[1])) return { kind: 'invalid', text: 'Usage: :user <name> (letters, digits, . _ -)' };
    return { kind: 'switch-user', user: sw[1] };
  }
  const userId = `console:${user}`;
  const dec = /^(approve|cancel)(?:\s+(\S+))?$/i.exec(text);
  if (dec) {
    if (!dec[2]) return { kind: 'invalid', text: `Usage: ${dec[1]!.toLowerCase()} <action-id>` };
    return {
      kind: 'decision',
      decision: {
        platform: 'console', eventId, tenantId: CONSOLE_TENANT, userId, actionId: dec[2],
        decision: dec[1]!.toLowerCase() === 'approve' ? 'approve' : 'cancel', conversation: conversation(),
      },
    };
  }
  return {
    kind: 'message',
    msg: { platform: 'console', eventId, tenantId: CONSOLE_TENANT, userId, text, conversation: conversation(), receivedAt: new Date() },
  };
}
