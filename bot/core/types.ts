/**
 * Domain types shared by adapters, pipeline and report. Adapters normalize platform
 * events into `InboundMessage` / `Decision`; the pipeline answers through `ChatAdapter`.
 * Branded stage types make out-of-order calls a compile error: parseIntent takes only
 * RedactedText, enqueue only an ApprovedAction.
 */
import type { Intent } from '../../workers/contract/index.ts';

export type Platform = 'console' | 'slack' | 'discord';

export type RedactedText = string & { readonly __brand: 'RedactedText' };

export interface ConversationRef {
  platform: Platform;
  tenantId: string;
  channelId: string;
  /** Thread root (Slack thread_ts, Discord thread id); replies go there. */
  threadId?: string;
  /** Answers go privately to this user (`slack:U…`), e.g. a slash-command status query. Stored with the action: JSON only. */
  ephemeralTo?: string;
}

export interface InboundMessage {
  platform: Platform;
  /** Platform event id for dedupe (Slack event_id, Discord message id, console line counter). */
  eventId: string;
  tenantId: string;
  userId: string;
  text: string;
  conversation: ConversationRef;
  receivedAt: Date;
}

export interface Decision {
  platform: Platform;
  eventId: string;
  tenantId: string;
  userId: string;
  actionId: string;
  decision: 'approve' | 'cancel';
  conversation: ConversationRef;
  /** The card message, when the platform tells us which one was clicked. */
  cardRef?: MessageRef;
}

export interface MessageRef {
  id: string;
}

export interface CardView {
  actionId: string;
  title: string;
  /** The exact action, one fact per line (never a secret value). */
  details: string[];
  requestedBy: string;
  expiresAt: Date;
  /** Production needs an approver other than the requester. */
  fourEyes: boolean;
}

export type Outbound =
  | { kind: 'text'; text: string }
  | { kind: 'card'; card: CardView }
  | { kind: 'outcome'; card: CardView; outcome: string };

export interface ChatAdapter {
  readonly platform: Platform;
  post(conv: ConversationRef, msg: Outbound): Promise<MessageRef>;
  update(conv: ConversationRef, ref: MessageRef, msg: Outbound): Promise<void>;
  /** A message only `userId` sees (refusals of clicks); platforms without it post normally. */
  notify(conv: ConversationRef, userId: string, text: string): Promise<void>;
  /**
   * Ask `userId` privately for the value of `key` (Slack: a modal). The answer comes back as an
   * ordinary message `set KEY=<value> on app`, so it is sealed by the same redact stage.
   */
  askSecret?(conv: ConversationRef, req: SecretRequest): Promise<void>;
  /** Sends `userId` a file in a direct message (privacy export); platforms without it get a local path instead. */
  upload?(conv: ConversationRef, userId: string, filename: string, content: string): Promise<void>;
}

export interface SecretRequest {
  userId: string;
  /** The inbound event that asked (lets the adapter use its trigger, e.g. Slack's trigger_id). */
  eventId: string;
  key: string;
  app: string;
}

export interface ParsedIntent {
  intent: Intent;
  parser: 'grammar' | 'llm';
}

/** An action row that won its approval: the only thing enqueue accepts. */
export type ApprovedAction = { readonly id: string; readonly tenantId: string; readonly kind: string } & { readonly __brand: 'ApprovedAction' };

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}
