/**
 * pino with two guards: `redact` paths for config secrets, and a destination that runs
 * every serialized line through the secret redactor, so a token that slips into any
 * field or message is replaced before it reaches a file or stderr.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../core/types.ts';
import { redactForLog } from '../pipeline/redact/index.ts';

/**
 * A failed drizzle query's message ends in `params: <values>`: chat text, ids, ciphertext.
 * The SQL stays (parameterized, no values); the values never reach a log line.
 */
export function withholdQueryParams(line: string): string {
  return line.includes('params: ') ? line.replace(/\\nparams: (?:[^"\\]|\\.)*/g, '\\nparams: [withheld]') : line;
}

export function createLogger(opts: { level: string; file?: string; base?: object }): Logger & { flush(): void } {
  let out: NodeJS.WritableStream;
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    out = createWriteStream(opts.file, { flags: 'a', mode: 0o600 });
  } else {
    out = process.stderr;
  }
  const dest = { write: (line: string) => out.write(redactForLog(withholdQueryParams(line))) };
  const l = pino({
    level: opts.level,
    base: opts.base ?? {},
    redact: { paths: ['*.token', '*.password', '*.secret', '*.apiKey', '*.masterKey', 'config.*'], censor: '[redacted]' },
  }, dest);
  const flush = l.flush.bind(l);
  return Object.assign(l as unknown as Logger, { flush: () => flush() });
}
