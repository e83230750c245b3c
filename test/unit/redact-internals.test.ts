import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keywordAt, keywordFinder, keywordMatcher } from '../../bot/pipeline/redact/keyword.ts';
import { buildTriggerIndex, scanTriggers } from '../../bot/pipeline/redact/trigger-index.ts';
import { freshSlots, type ScanContext } from '../../bot/pipeline/redact/detector.ts';
import { occurrences, occurrencesIn } from '../../bot/pipeline/redact/propagate.ts';
import { notFollowedBy, simpleTokenMatcher } from '../../bot/pipeline/redact/detector.ts';
import { awsKeyIdEnd, findAwsSecretValues } from '../../bot/pipeline/redact/detectors/cloud.ts';
import { findDocBreaks, findKinds, matchYamlEntry } from '../../bot/pipeline/redact/detectors/kubernetes.ts';

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

  it('keywordFinder reads off the trigger walk what keywordMatcher reads in the text', () => {
    // Triggers of two detectors (one of them shorter than some words), as the engine has them.
    const find = keywordFinder(WORDS);
    const match = keywordMatcher(WORDS);
    let calls = 0;
    const check = (ctx: ScanContext, at: number): void => {
      calls++;
      expect(find(ctx, at)).toBe(match(ctx.text, at));
    };
    const index = buildTriggerIndex([
      { id: 'a', kinds: [], triggers: [...WORDS, 'pa', 'ke'], caseSensitive: false, scan: check },
      { id: 'b', kinds: [], triggers: ['PAss', 'toKEN'], caseSensitive: true, scan: check },
    ]);
    const dense = fc
      .array(fc.oneof(fc.constantFrom(...WORDS, 'PASSWORDS', 'Token', 'pa', 'KEy', 'paSSw', 'private-'), text), { maxLength: 8 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(dense, (t) => {
        scanTriggers(index, { text: t, memo: new Map(), slots: freshSlots(), emit() {} }, null);
        // Outside a walk (a scan called directly) the matcher answers.
        const ctx: ScanContext = { text: t, memo: new Map(), slots: freshSlots(), emit() {} };
        for (let at = 0; at < t.length; at++) expect(find(ctx, at)).toBe(match(t, at));
      }),
      { numRuns: 2000 },
    );
    expect(calls).toBeGreaterThan(2000);
  });

  it('occurrences within ranges (one value: indexOf; several: Wu–Manber) finds what a scan of each range finds', () => {
    const alphabet = fc.constantFrom(...'ab\u0161'.split(''));
    // Values of 64 chars or more (one value) take the indexOf path.
    const value = fc.oneof(fc.string({ unit: alphabet, minLength: 8, maxLength: 12 }), fc.string({ unit: alphabet, minLength: 64, maxLength: 70 }));
    const cuts = fc.uniqueArray(fc.nat(700), { maxLength: 12 }).map((xs) => xs.sort((a, b) => a - b));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 120 }), fc.uniqueArray(value, { minLength: 1, maxLength: 3 }), cuts, (t, values, cut) => {
        const seeded = (values[0] as string) + t + values.join('') + t.slice(0, 30) + (values[0] as string).repeat(3);
        const ranges = cut.filter((x) => x <= seeded.length);
        if (ranges.length % 2 === 1) ranges.pop();
        const want: [number, string][] = [];
        for (let r = 0; r < ranges.length; r += 2) {
          const to = ranges[r + 1] as number;
          for (let i = ranges[r] as number; i < to; i++) {
            const v = values.find((x) => seeded.startsWith(x, i) && i + x.length <= to);
            if (v !== undefined) {
              want.push([i, v]);
              i += v.length - 1;
            }
          }
        }
        expect(occurrencesIn(seeded, values, ranges)).toEqual(want);
      }),
      { numRuns: 3000 },
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

describe('hand-written matchers equal the regexes they replace', () => {
  it('findKinds / findDocBreaks: the kind-line and document-break regexes', () => {
    const unit = fc.constantFrom('kind', ':', '"', "'", ' ', '\t', '-', '\n', '\r', '\u2028', 'Secret', 'Sec', 'x', 'kind:', '"kind"', '---', 'A');
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 30 }).map((a) => a.join('')), (t) => {
        const kinds: unknown[] = [];
        const re = /^([ \t]*(?:-[ \t]+)?)kind:[ \t]*["']?([A-Za-z]+)|"kind"[ \t]*:[ \t]*"([A-Za-z]+)"/gm;
        for (let m = re.exec(t); m !== null; m = re.exec(t)) {
          const json = m[3] !== undefined;
          kinds.push({ pos: m.index, indent: json ? -1 : (m[1] as string).length, secret: (json ? m[3] : m[2]) === 'Secret' });
        }
        const { kinds: lines, count } = findKinds(t);
        const got = Array.from({ length: count }, (_, k) => ({ pos: lines[k * 3], indent: lines[k * 3 + 1], secret: lines[k * 3 + 2] === 1 }));
        expect(got).toEqual(kinds);
        expect(findDocBreaks(t)).toEqual([...t.matchAll(/^---/gm)].map((m) => m.index));
      }),
      { numRuns: 5000 },
    );
  });

  it('matchYamlEntry: the sticky entry regex', () => {
    const unit = fc.constantFrom(' ', '\t', 'a', 'B.c', '-', '_', '"', "'", ':', 'x y', '\r', '\n', '|', 'YWJj', '=');
    const entry = /([ \t]+)(?:[A-Za-z0-9._-]+|"[^"\n]{1,253}"|'[^'\n]{1,253}'):[ \t]*(?<v>[^\r\n]*)/y;
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 16 }).map((a) => a.join('')), (t) => {
        entry.lastIndex = 0;
        const m = entry.exec(t);
        const want = m === null ? null : [(m[1] as string).length, m.index + m[0].length - (m.groups?.['v'] ?? '').length];
        expect(matchYamlEntry(t, 0)).toEqual(want);
      }),
      { numRuns: 5000 },
    );
  });

  it('awsKeyIdEnd: the AWS key id lead regex', () => {
    const unit = fc.constantFrom('AKIA', 'ASIA', 'A', 'Z', '2', '7', '8', 'a', ' ', '-', 'ABCDEFGHIJKLMNOP');
    const lead = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/y;
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }).map((a) => a.join('')), fc.nat(30), (t, a) => {
        const at = Math.min(a, t.length);
        lead.lastIndex = at;
        expect(awsKeyIdEnd(t, at)).toBe(lead.test(t) ? lead.lastIndex : -1);
      }),
      { numRuns: 5000 },
    );
  });

  it('findAwsSecretValues: AWS_SECRET_VALUE over a region', () => {
    const unit = fc.constantFrom('A', 'b', '7', '/', '+', '=', ' ', '-', 'x'.repeat(20), 'Ab1/'.repeat(10), 'Z9+'.repeat(13));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 24 }).map((a) => a.join('')), fc.nat(80), fc.nat(200), (t, a, len) => {
        const from = Math.min(a, t.length);
        const to = Math.min(from + len, t.length);
        const re = /(?<![A-Za-z0-9/+])(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/g;
        // As the context rule runs it: on a chunk from one char before the region.
        const sliceStart = from > 0 ? from - 1 : 0;
        const chunk = t.slice(sliceStart, Math.min(to + 42, t.length));
        re.lastIndex = from - sliceStart;
        const want: number[] = [];
        for (let m = re.exec(chunk); m !== null && m.index + sliceStart < to; m = re.exec(chunk)) want.push(m.index + sliceStart, m.index + sliceStart + 40);
        const got: number[] = [];
        findAwsSecretValues(t, from, to, got);
        expect(got).toEqual(want);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('simpleTokenMatcher', () => {
  const shapes: [body: string, edge: string, lead: string][] = [
    ['[a-f0-9]{64}', 'A-Za-z0-9_\\-', 'A-Za-z0-9_\\-'],
    ['[A-Z2-7]{16}', 'A-Za-z0-9', 'A-Za-z0-9_\\-'],
    ['[A-Za-z0-9_\\-]{4,9}', 'A-Za-z0-9_\\-', 'A-Za-z0-9_\\-'],
    ['[0-9a-f]{3}', 'A-Za-z0-9', 'A-Za-z0-9'],
    ['[A-Z0-9]{5}', 'A-Za-z0-9_\\-', 'A-Za-z0-9_\\-'],
  ];
  const unit = fc.constantFrom(...'aAf0Z29_-.=+/ xé\ud800'.split(''));
  for (const [body, edge, lead] of shapes) {
    it(`answers as the regex for ${body} (edge ${edge})`, () => {
      const fast = simpleTokenMatcher(body, edge, lead);
      expect(fast).not.toBeNull();
      const re = new RegExp(`(?<![${lead}])(?:P)(?:${body})${notFollowedBy(edge)}`, 'y');
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 4 }), fc.string({ unit, maxLength: 80 }), (before, after) => {
          const text = `${before}P${after}`;
          re.lastIndex = before.length;
          const want = re.test(text) ? re.lastIndex : -1;
          const got = fast?.leadOk(text, before.length) ? fast.bodyEnd(text, before.length + 1) : -1;
          expect(got).toBe(want);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('declines shapes where a longer run could still end the token', () => {
    expect(simpleTokenMatcher('[A-Za-z0-9+/=]{32,64}', 'A-Za-z0-9_\\-', 'A-Za-z0-9_\\-')).toBeNull();
    expect(simpleTokenMatcher('[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}', 'A-Za-z0-9', 'A-Za-z0-9')).toBeNull();
    expect(simpleTokenMatcher('[A-Za-z0-9_\\-]{20,40}', 'A-Za-z0-9_\\-.', 'A-Za-z0-9_\\-')).toBeNull();
  });
});
