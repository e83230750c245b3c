/**
 * Stage 3: parse intent. Accepts only RedactedText: the offline grammar first; the LLM
 * (when configured, its own issue) only when the grammar cannot read the message.
 */
import type { Intent } from '../../workers/contract/index.ts';
import type { ParsedIntent, RedactedText } from '../core/types.ts';
import { parseGrammar } from './grammar.ts';

/** An LLM-backed parser for free text; absent means grammar only. */
export interface IntentParser {
  parse(text: RedactedText, context: { tenantId: string; apps: string[] }): Promise<Intent>;
}

export async function parseIntent(text: RedactedText, llm: IntentParser | undefined, context: { tenantId: string; apps: () => Promise<string[]> }): Promise<ParsedIntent> {
  const intent = parseGrammar(text);
  if (intent.action !== 'unknown' || !llm) return { intent, parser: 'grammar' };
  return { intent: await llm.parse(text, { tenantId: context.tenantId, apps: await context.apps() }), parser: 'llm' };
}
