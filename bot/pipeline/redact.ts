/**
 * Stage 2: redact. Input: raw chat text. Output: RedactedText with ⟦secret:N:kind⟧
 * placeholders, plus the caught values held in memory only until confirm seals them to
 * the pending action. The value of `set KEY=value on app` is always sealed as
 * `env_value`, whether or not it looks like a secret: env values are never stored or sent.
 */
import { HoistError } from '../core/errors.ts';
import type { RedactedText } from '../core/types.ts';
import { MAX_REDACT_INPUT, redact, RedactionTooLargeError } from './redact/index.ts';

export interface RedactedMessage {
  text: RedactedText;
  /** placeholder → value; never logged, never persisted unsealed. */
  secrets: Map<string, string>;
  /** Kinds caught, for the one-line notice to the user (env_value excluded: that is expected). */
  kinds: string[];
}

const SET_FORM = /^(\s*(?:@?hoist[:,]?\s+)?set\s+[A-Za-z_][A-Za-z0-9_]*\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*'|\S+)(\s+on\s+\S+\s*)$/is;

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v;
}

export function redactMessage(raw: string): RedactedMessage {
  const secrets = new Map<string, string>();
  const set = SET_FORM.exec(raw);
  try {
    if (set) {
      // The env value is sealed whole; around it the form allows only a key and an app name.
      const placeholder = '⟦secret:1:env_value⟧';
      secrets.set(placeholder, unquote(set[2]!));
      return { text: `${set[1]}${placeholder}${set[3]}` as RedactedText, secrets, kinds: [] };
    }
    const r = redact(raw);
    for (const f of r.findings) secrets.set(f.placeholder, f.value);
    return { text: r.text, secrets, kinds: [...new Set(r.findings.map((f) => f.type))] };
  } catch (e) {
    if (e instanceof RedactionTooLargeError) {
      throw new HoistError('message_too_large', `That message is over ${Math.round(MAX_REDACT_INPUT / 1024)} KiB; I did not read or keep it. Send a shorter one.`);
    }
    throw e;
  }
}

export function secretNotice(kinds: string[]): string | undefined {
  if (kinds.length === 0) return undefined;
  return `🔒 I caught ${kinds.length === 1 ? 'a secret' : 'secrets'} (${kinds.join(', ')}) in your message and replaced ${kinds.length === 1 ? 'it' : 'them'} with placeholders; the value was not sent anywhere or stored in plain text.`;
}
