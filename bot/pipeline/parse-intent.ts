/**
 * Stage 3: parse intent. Accepts only RedactedText: the offline grammar first (fast, free,
 * deterministic); the LLM only when the grammar cannot read the message and the tenant has
 * it on. The LLM proposes; the intent it returns is checked like any other input.
 */
import type { Intent } from '../../workers/contract/index.ts';
import type { ConversationRef, ParsedIntent, RedactedText } from '../core/types.ts';
import { parseGrammar } from './grammar.ts';

export interface AppRef {
  name: string;
  environment: string;
}

export interface ParseContext {
  tenantId: string;
  userId: string;
  /** The thread the message belongs to: earlier (redacted) messages give the LLM context. */
  conversation: ConversationRef;
  apps: () => Promise<AppRef[]>;
}

/**
 * An LLM-backed parser for free text; absent means grammar only. `parse` returns undefined
 * when the LLM is off for the tenant (the grammar's answer stands); on failure it returns
 * `unknown` with a sentence saying so, never throws for network trouble.
 */
export interface IntentParser {
  /**
   * `ready`, when given, must resolve before anything is sent to a model: the parser may read
   * (settings, apps, budget, context) meanwhile, but sends only after it. A rejection of
   * `ready` is the caller's error: the parser sends nothing and rethrows it.
   */
  parse(text: RedactedText, context: ParseContext, ready?: Promise<void>): Promise<Intent | undefined>;
  /** Told of each message the grammar read, so later free text in the thread has context. */
  observe?(text: RedactedText, context: ParseContext): Promise<void>;
  /** For `privacy`: what was sent to the model for this tenant (the requests themselves for admins). */
  describeSent?(tenantId: string, admin: boolean): Promise<string | undefined>;
}

/**
 * `beforeLlm` completes before the text is sent to a model (the pipeline commits the message's
 * audit events there). It is started first and the parser's reads run alongside it, so they
 * add nothing to its wait; a failure of `beforeLlm` is thrown from here, as before, and then
 * nothing was sent.
 */
export async function parseIntent(text: RedactedText, llm: IntentParser | undefined, context: ParseContext, beforeLlm?: () => Promise<void>): Promise<ParsedIntent> {
  const intent = parseGrammar(text);
  if (!llm) return { intent, parser: 'grammar' };
  if (intent.action !== 'unknown') {
    await llm.observe?.(text, context);
    return { intent, parser: 'grammar' };
  }
  const ready = beforeLlm?.();
  ready?.catch(() => undefined); // awaited below; the parser may return before looking at it
  const proposed = await llm.parse(text, context, ready);
  await ready;
  return proposed ? { intent: proposed, parser: 'llm' } : { intent, parser: 'grammar' };
}
