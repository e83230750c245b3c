import { describe, expect, it } from 'vitest';
import { redactMessage } from '../../bot/pipeline/redact.ts';
import { containsSecret, MAX_REDACT_INPUT, redact, redactForLog, RedactionTooLargeError } from '../../bot/pipeline/redact/index.ts';
import { HELD_OUT_KINDS } from '../fixtures/redact/heldout.ts';
import { ALPHA, githubToken, makeRand, mixed, pemBlock, str, type Rand } from '../fixtures/redact/fake-tokens.ts';

/**
 * The issue's "Bad input" list: megabyte messages, binary garbage, invalid UTF-16,
 * zero-width characters inside tokens, tokens glued to CJK text or punctuation, and
 * private keys split across lines. Redaction catches the secret or refuses the message;
 * it never crashes and never passes raw text on.
 */

/** Every secret value of `secrets` is gone from `out`, and the findings point into `input`. */
function expectRedacted(input: string, secrets: readonly string[]): string {
  const { text, findings } = redact(input);
  for (const f of findings) expect(input.slice(f.start, f.end)).toBe(f.value);
  for (const s of secrets) expect(text.includes(s), `left visible: ${s.slice(0, 24)}…`).toBe(false);
  expect(redact(text).findings).toEqual([]);
  return text;
}

const standalone = Object.entries(HELD_OUT_KINDS).filter(([, g]) => g.standalone);

describe('megabyte messages', () => {
  it('finds secrets at the start, middle and end of a 1 MB message', () => {
    const r = makeRand(7);
    const a = githubToken(r);
    const b = `AKIA${str(r, ALPHA.base32, 16)}`;
    const c = `sk_live_${mixed(r, ALPHA.alnum, 40)}`;
    const filler = 'deploy api to staging, logs look fine, retry the job please\n';
    const half = filler.repeat(Math.floor((MAX_REDACT_INPUT - 200) / 2 / filler.length));
    const input = `${a} first\n${half}middle ${b} here\n${half}last ${c}`;
    expect(input.length).toBeLessThanOrEqual(MAX_REDACT_INPUT);
    const { findings } = redact(input);
    expect(findings.map((f) => f.type)).toEqual(['github_pat', 'aws_access_key_id', 'stripe_secret_key']);
    expectRedacted(input, [a, b, c]);
  });

  it('refuses a message over the limit with a clear sentence and keeps nothing of it', () => {
    const r = makeRand(8);
    const token = githubToken(r);
    const input = `${token} ${'x'.repeat(MAX_REDACT_INPUT)}`;
    expect(() => redact(input)).toThrow(RedactionTooLargeError);
    expect(() => containsSecret(input)).toThrow(RedactionTooLargeError);
    let error: unknown;
    try {
      redactMessage(input);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'message_too_large' });
    const message = (error as Error).message;
    expect(message).toMatch(/over \d+ KiB; I did not read or keep it/);
    expect(message).not.toContain(token);
  });

  it('a log line over the limit is cut and marked, its head redacted, its tail dropped', () => {
    const r = makeRand(9);
    const head = githubToken(r);
    const tail = githubToken(r);
    const line = `${head} ${'y'.repeat(MAX_REDACT_INPUT)} ${tail}`;
    const out = redactForLog(line);
    expect(out).not.toContain(head);
    expect(out).not.toContain(tail);
    expect(out.endsWith('…[truncated by redaction]')).toBe(true);
  });
});

describe('binary garbage', () => {
  function garbage(r: Rand, n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  }

  it('decoded as UTF-8 (replacement chars) or Latin-1, with secrets inside, never crashes', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = makeRand(seed);
      const token = githubToken(r);
      const bytes = Buffer.concat([garbage(r, 300), Buffer.from(` ${token} `), garbage(r, 300)]);
      for (const encoding of ['utf8', 'latin1'] as const) {
        const input = bytes.toString(encoding);
        expectRedacted(input, [token]);
        expect(redactForLog(input)).not.toContain(token);
      }
    }
  });

  it('NUL and control characters around assignments', () => {
    const r = makeRand(3);
    const pw = mixed(r, ALPHA.alnum, 18);
    expectRedacted(`\u0000\u0001DB_PASSWORD=${pw}\u0000\u0007\u001b[0m`, [pw]);
  });
});

describe('invalid UTF-16', () => {
  it('lone and reversed surrogates next to tokens of every standalone kind', () => {
    const glue: [string, string][] = [['\ud800', ''], ['', '\udfff'], ['\udc00 ', ' \ud83d'], ['\ude00\ud83d', '\ud800\ud800']];
    for (const [kind, g] of standalone) {
      glue.forEach(([a, b], i) => {
        const value = g.make(makeRand(i + 1));
        const input = `${a}${value}${b}`;
        const { findings } = redact(input);
        expect(findings.some((f) => f.start <= a.length && f.end >= a.length + value.length), `${kind} with ${JSON.stringify(a)}…${JSON.stringify(b)}`).toBe(true);
        expectRedacted(input, [value]);
      });
    }
  });
});

describe('zero-width and invisible characters inside tokens', () => {
  const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u200e'];

  it('covers tokens of every standalone kind split by invisible characters, offsets in the original', () => {
    for (const [kind, g] of standalone) {
      const value = g.make(makeRand(kind.length));
      const zw = INVISIBLE[kind.length % INVISIBLE.length] as string;
      const at = [Math.floor(value.length / 3), Math.floor((2 * value.length) / 3)];
      const split = value.slice(0, at[0]) + zw + value.slice(at[0], at[1]) + zw + zw + value.slice(at[1]);
      const input = `new one: ${split} (rotate)`;
      const { text, findings } = redact(input);
      const hit = findings.find((f) => f.start <= 9 && f.end >= 9 + split.length);
      expect(hit, `${kind}: ${JSON.stringify(input.slice(0, 60))}`).toBeDefined();
      expect(text).not.toContain(value);
      for (const part of split.split(zw).filter((p) => p.length >= 12)) expect(text).not.toContain(part);
    }
  });

  it('numbers a secret the same with and without invisible characters in it', () => {
    const token = githubToken(makeRand(4));
    const { findings } = redact(`${token} and ${token.slice(0, 8)}\u200b${token.slice(8)}`);
    expect(findings).toHaveLength(2);
    expect(findings[0]?.placeholder).toBe(findings[1]?.placeholder);
  });
});

describe('tokens glued to CJK text and punctuation', () => {
  const GLUE: [string, string][] = [
    ['密码是', '。'], ['「', '」'], ['令牌', '请轮换'], ['パスワード：', 'です'], ['（', '）'], ['(', ')'], ['"', '",'],
    ['<', '>'], ['`', '`'], ['[', ']'], ['*', '*'], ['', '!'], ['', '.'], ['', '…'], ['→', '←'], ["'", "';"], ['，', '，'],
  ];

  it('finds a token of every standalone kind whatever it is glued to', () => {
    for (const [kind, g] of standalone) {
      GLUE.forEach(([a, b], i) => {
        const value = g.make(makeRand(i * 7 + kind.length));
        const input = `${a}${value}${b}`;
        const { findings } = redact(input);
        expect(findings.some((f) => f.start <= a.length && f.end >= a.length + value.length), `${kind}: ${JSON.stringify(input.slice(0, 60))}`).toBe(true);
      });
    }
  });
});

describe('private keys split across lines', () => {
  const r = makeRand(11);
  const pem = pemBlock(r, 'RSA PRIVATE KEY', { lines: 10 });
  const body = pem.split('\n').slice(1, -1);
  const rewrap = (width: number) => [pem.split('\n')[0], ...(body.join('').match(new RegExp(`.{1,${width}}`, 'g')) ?? []), pem.split('\n').at(-1)].join('\n');
  const variants: [string, string][] = [
    ['CRLF line ends', pem.replace(/\n/g, '\r\n')],
    ['lines joined by spaces (chat client)', pem.replace(/\n/g, ' ')],
    ['JSON-escaped newlines', JSON.stringify(pem).slice(1, -1)],
    ['header split over two lines', pem.replace('RSA PRIVATE KEY-----\n', 'RSA PRIVATE\nKEY-----\n')],
    ['footer split over two lines', pem.replace('-----END RSA PRIVATE KEY-----', '-----END RSA\nPRIVATE KEY-----')],
    ['rewrapped at 40 columns', rewrap(40)],
    ['blank lines between body lines', pem.replace(/\n/g, '\n\n')],
    ['indented under a YAML block scalar', `tls.key: |\n${pem.split('\n').map((l) => `    ${l}`).join('\n')}`],
    ['quoted in Markdown (> )', pem.split('\n').map((l) => `> ${l}`).join('\n')],
    ['quoted in Slack raw text (&gt; )', pem.split('\n').map((l) => `&gt; ${l}`).join('\n')],
    ['cut off before the footer', pem.split('\n').slice(0, -3).join('\n')],
  ];
  for (const [name, input] of variants) {
    it(name, () => {
      const text = expectRedacted(input, body.slice(0, name.startsWith('cut') ? -2 : undefined).map((l) => l.slice(0, 30)));
      expect(text).toMatch(/⟦secret:1:rsa_private_key⟧/);
    });
  }
});
