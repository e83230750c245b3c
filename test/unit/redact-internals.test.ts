import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keywordAt, keywordMatcher } from '../../bot/pipeline/redact/keyword.ts';
import { occurrences } from '../../bot/pipeline/redact/propagate.ts';

// The fast paths of the engine must give exactly the answers of their simple references.
const WORDS = ['private_key', 'passphrase', 'passwords', 'password', 'api_key', 'passwd', 'secret', 'token', 'pass', 'auth', 'pwd', 'key'];
const text = fc.string({ unit: fc.constantFrom(...'pPaAsSwWoOrRdDkKeEyY_-=: \u00e9\u4e2d'.split('')), maxLength: 40 });

/** Reference for `occurrences`: at each position the first value (in order) that starts there wins. */
function naiveOccurrences(t: string, values: readonly string[]): [number, string][] {
  const out: [number, string][] = [];
  for (let i = 0; i < t.length; i++) {
    const v = values.find((x) => t.startsWith(x, i));
    if (v !== undefined) {
      out.push([i, v]);
      i += v.length - 1;
    }
  }
  return out;
}

describe('redaction internals', () => {
  it('keywordMatcher answers as keywordAt does', () => {
    const match = keywordMatcher(WORDS);
    fc.assert(
      fc.property(text, fc.nat(40), (t, at) => {
        expect(match(t, at)).toBe(keywordAt(t, at, WORDS));
      }),
      { numRuns: 2000 },
    );
  });

  it('occurrences (Wu–Manber) finds what a left-to-right scan finds', () => {
    const alphabet = fc.constantFrom(...'ab\u0161\u0261'.split(''));
    const value = fc.string({ unit: alphabet, minLength: 8, maxLength: 14 });
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 200 }), fc.uniqueArray(value, { minLength: 1, maxLength: 6 }), (t, values) => {
        const seeded = t + values.join('') + t.slice(0, 20) + (values[0] as string);
        expect(occurrences(seeded, values)).toEqual(naiveOccurrences(seeded, values));
      }),
      { numRuns: 1000 },
    );
  });
});
