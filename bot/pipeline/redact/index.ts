/**
 * Stage 2 of the spine: secrets become placeholders before the LLM, the database or a
 * log line sees the text. Contract:
 * - `redact` replaces every detected secret with `⟦secret:N:kind⟧`; N counts distinct
 *   secret values from 1 in order of appearance; finding offsets are UTF-16 offsets
 *   into the ORIGINAL input and `input.slice(start, end) === value`.
 * - Redacting redacted text finds nothing: placeholders are never detected again.
 * - Linear time; input over MAX_REDACT_INPUT chars throws RedactionTooLargeError.
 */
import { DETECTOR_KINDS, detect, hasAnySecret, render, sequential } from './engine.ts';

export type RedactedText = string & { readonly __brand: 'RedactedText' };

export interface Finding {
  start: number;
  end: number;
  type: string;
  value: string;
  placeholder: string;
}

export interface RedactionResult {
  text: RedactedText;
  findings: Finding[];
}

export const MAX_REDACT_INPUT = 1_048_576;

export class RedactionTooLargeError extends Error {
  readonly length: number;
  constructor(length: number) {
    super(`input of ${length} chars exceeds the redaction limit of ${MAX_REDACT_INPUT}`);
    this.name = 'RedactionTooLargeError';
    this.length = length;
  }
}

export const SECRET_KINDS: readonly string[] = Object.freeze([...DETECTOR_KINDS]);

function checkSize(input: string): void {
  if (input.length > MAX_REDACT_INPUT) throw new RedactionTooLargeError(input.length);
}

export function redact(input: string): RedactionResult {
  checkSize(input);
  const flat = sequential(input);
  const { text, findings } = render(flat, detect(flat), true);
  return { text: text as RedactedText, findings };
}

const TRUNCATED = '…[truncated by redaction]';

/**
 * Same text as `redact(input).text` without building findings. A logger must never
 * throw, so oversized lines are cut to the limit instead of rejected.
 */
export function redactForLog(input: string): string {
  const line = input.length > MAX_REDACT_INPUT ? input.slice(0, MAX_REDACT_INPUT) : input;
  const flat = sequential(line);
  const out = render(flat, detect(flat), false).text;
  return line === input ? out : out + TRUNCATED;
}

export function containsSecret(input: string): boolean {
  checkSize(input);
  return hasAnySecret(sequential(input));
}
