import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunksAtLines, runRedactCli } from '../../bot/pipeline/redact/cli.ts';
import { githubToken, makeRand, password, pemBlock } from '../fixtures/redact/fake-tokens.ts';

async function run(jsonl: boolean, input: string): Promise<{ code: number; out: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const done = runRedactCli({ jsonl }, stdin, stdout);
  stdin.end(input);
  const code = await done;
  return { code, out: Buffer.concat(chunks).toString('utf8') };
}

const r = makeRand(5);

describe('hoist redact (plain)', () => {
  it('copies stdin to stdout with secrets replaced, keeping the layout', async () => {
    const pw = password(r);
    const input = `line one\nDB_PASSWORD=${pw}\n\nno newline at end`;
    const { code, out } = await run(false, input);
    expect(code).toBe(0);
    expect(out).toBe('line one\nDB_PASSWORD=⟦secret:1:password⟧\n\nno newline at end');
  });

  it('redacts secrets spanning lines (PEM blocks)', async () => {
    const pem = pemBlock(r, 'OPENSSH PRIVATE KEY', { lines: 5 });
    const { out } = await run(false, `key:\n${pem}\ndone\n`);
    expect(out).toBe('key:\n⟦secret:1:openssh_private_key⟧\ndone\n');
  });

  it('writes nothing for empty input', async () => {
    expect(await run(false, '')).toEqual({ code: 0, out: '' });
  });

  it('splits input over the size limit at line ends', () => {
    const parts = [...chunksAtLines('aaa\nbbb\ncccccccc\nd', 9)];
    expect(parts.join('')).toBe('aaa\nbbb\ncccccccc\nd');
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(9);
    expect(parts[0]).toBe('aaa\nbbb\n');
  });
});

describe('hoist redact --jsonl', () => {
  it('writes text and findings (offsets and type, never the value) per line', async () => {
    const tok = githubToken(r);
    const input = `${JSON.stringify({ text: `use ${tok} now` })}\n${JSON.stringify({ text: 'nothing here' })}\n`;
    const { code, out } = await run(true, input);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { text: 'use ⟦secret:1:github_pat⟧ now', findings: [{ start: 4, end: 4 + tok.length, type: 'github_pat' }] },
      { text: 'nothing here', findings: [] },
    ]);
    expect(out).not.toContain(tok);
  });

  it('reports a malformed line as an error object and continues', async () => {
    const input = `{"text": "a"}\n{not json\n{"nope": 1}\n{"text": "password=${password(r)}"}\n`;
    const { code, out } = await run(true, input);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ text: 'a', findings: [] });
    expect(typeof lines[1]?.['error']).toBe('string');
    expect(typeof lines[2]?.['error']).toBe('string');
    expect(lines[3]?.['text']).toBe('password=⟦secret:1:password⟧');
    expect(code).toBe(1);
  });

  it('handles CRLF input and blank lines', async () => {
    const { out } = await run(true, '{"text":"x"}\r\n\r\n{"text":"y"}\r\n');
    expect(out).toBe('{"text":"x","findings":[]}\n{"text":"y","findings":[]}\n');
  });
});
