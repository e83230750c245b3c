import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact, SECRET_KINDS } from '../../bot/pipeline/redact/index.ts';
import { KIND_CASES } from '../fixtures/redact/kind-cases.ts';
import { makeRand } from '../fixtures/redact/fake-tokens.ts';

const secret = fc
  .tuple(fc.constantFrom(...SECRET_KINDS), fc.integer({ min: 1, max: 1_000_000 }))
  .map(([kind, seed]) => {
    const makers = KIND_CASES[kind] ?? [];
    return (makers[seed % makers.length] as (typeof makers)[number])(makeRand(seed)).text;
  });

const syntax = fc.constantFrom(
  'password=', 'PASSWORD: ', 'token = "', '"secret": "', 'api_key=', 'Bearer ', 'Basic ', 'Authorization: ',
  '://', 'postgres://u:', '@db/x', '-----BEGIN RSA PRIVATE KEY-----\n', '-----END RSA PRIVATE KEY-----',
  'data:\n  ', 'kind: Secret\n', 'mysql -p', 'redis-cli -a ', '--password ', 'key ', 'eyJ', '.', ';', '\n', ' ',
  '"', "'", '⟦secret:1:token⟧', '⟦secret:', '\u200b', '\ufeff', '密码是', '。', 'AKIA', 'ghp_', 'sk_live_', 'xoxb-',
  '=', ':', 'machine x password ', 'jdbc:mysql://h/db?password=', 'Password=', 'Server=x;',
);

const tokenish = fc.string({ unit: fc.constantFrom(...'abcdXYZ0189+/=_-.:~'.split('')), minLength: 1, maxLength: 48 });
const noise = fc.string({ unit: 'binary', maxLength: 24 });

const message = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: secret },
      { weight: 5, arbitrary: syntax },
      { weight: 3, arbitrary: tokenish },
      { weight: 2, arbitrary: noise },
    ),
    { maxLength: 14 },
  )
  .map((parts) => parts.join(''));

const RUNS = { numRuns: Number(process.env['REDACT_PROPERTY_RUNS'] ?? 400) };

describe('redaction properties', () => {
  it('reports offsets into the original input, sorted and disjoint', () => {
    fc.assert(
      fc.property(message, (input) => {
        const { findings } = redact(input);
        let last = 0;
        for (const f of findings) {
          expect(input.slice(f.start, f.end)).toBe(f.value);
          expect(f.start).toBeGreaterThanOrEqual(last);
          expect(f.end).toBeGreaterThan(f.start);
          expect(f.placeholder).toMatch(/^⟦secret:\d+:[a-z0-9_]+⟧$/);
          last = f.end;
        }
      }),
      RUNS,
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(message, (input) => {
        const once = redact(input);
        const twice = redact(once.text);
        expect(twice.findings, JSON.stringify(once.text)).toEqual([]);
        expect(twice.text).toBe(once.text);
      }),
      RUNS,
    );
  });

  it('leaves no detected secret visible', () => {
    fc.assert(
      fc.property(message, (input) => {
        const { text, findings } = redact(input);
        // Kind names inside placeholders (`aws_access_key_id`) are not leaks.
        const visible = text.replace(/⟦secret:\d+:[a-z0-9_]+⟧/g, '\u0000');
        for (const f of findings) {
          expect(text).toContain(f.placeholder);
          // Every occurrence of a secret of 8+ chars is replaced, not only the one in context.
          if (f.value.length >= 8) expect(visible.includes(f.value), JSON.stringify({ input, value: f.value })).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('the output is the input with each finding replaced by its placeholder', () => {
    fc.assert(
      fc.property(message, (input) => {
        const { text, findings } = redact(input);
        let rebuilt = '';
        let last = 0;
        for (const f of findings) {
          rebuilt += input.slice(last, f.start) + f.placeholder;
          last = f.end;
        }
        expect(text).toBe(rebuilt + input.slice(last));
      }),
      RUNS,
    );
  });
});
