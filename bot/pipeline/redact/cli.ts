/**
 * `hoist redact`: plain mode reads stdin to the end and writes it with secrets replaced
 * (in pieces of at most MAX_REDACT_INPUT chars, cut at line ends); `--jsonl` reads one `{"text": …}` object per line and
 * writes `{"text", "findings": [{start, end, type}]}` — offsets into that line's text,
 * never the secret value. A bad line yields `{"error": …}` and processing continues.
 * Resolves to the exit code: 0, or 1 if any line failed.
 */
import { createInterface } from 'node:readline';
import { MAX_REDACT_INPUT, redact, redactForLog, RedactionTooLargeError } from './index.ts';

function processJsonLine(line: string): { out: string; failed: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    return { out: JSON.stringify({ error: `invalid JSON: ${(e as Error).message}` }), failed: true };
  }
  const text = typeof parsed === 'object' && parsed !== null ? (parsed as { text?: unknown }).text : undefined;
  if (typeof text !== 'string') return { out: JSON.stringify({ error: 'expected an object with a string "text" field' }), failed: true };
  try {
    const r = redact(text);
    const findings = r.findings.map((f) => ({ start: f.start, end: f.end, type: f.type }));
    return { out: JSON.stringify({ text: r.text, findings }), failed: false };
  } catch (e) {
    if (e instanceof RedactionTooLargeError) return { out: JSON.stringify({ error: e.message }), failed: true };
    throw e;
  }
}

function write(stdout: NodeJS.WritableStream, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** Splits text into pieces of at most `max` chars, cutting after a newline where one exists. */
export function* chunksAtLines(text: string, max: number): Generator<string> {
  let pos = 0;
  while (text.length - pos > max) {
    const nl = text.lastIndexOf('\n', pos + max - 1);
    const cut = nl >= pos ? nl + 1 : pos + max;
    yield text.slice(pos, cut);
    pos = cut;
  }
  if (pos < text.length) yield text.slice(pos);
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const parts: string[] = [];
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) parts.push(typeof chunk === 'string' ? chunk : String(chunk));
  return parts.join('');
}

export async function runRedactCli(
  opts: { jsonl: boolean },
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  if (!opts.jsonl) {
    // Whole input, not line by line: PEM blocks and Kubernetes manifests span lines.
    for (const chunk of chunksAtLines(await readAll(stdin), MAX_REDACT_INPUT)) await write(stdout, redactForLog(chunk));
    return 0;
  }
  const lines = createInterface({ input: stdin, crlfDelay: Infinity, terminal: false });
  let failed = false;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const r = processJsonLine(line);
    failed ||= r.failed;
    await write(stdout, `${r.out}\n`);
  }
  return failed ? 1 : 0;
}
