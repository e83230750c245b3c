import { describe, expect, it } from 'vitest';
import { redact, SECRET_KINDS } from '../../bot/pipeline/redact/index.ts';
import { KIND_CASES } from '../fixtures/redact/kind-cases.ts';
import { makeRand } from '../fixtures/redact/fake-tokens.ts';

const SEEDS = 12;

describe('every detector kind has positive cases', () => {
  it('KIND_CASES covers exactly SECRET_KINDS', () => {
    expect(Object.keys(KIND_CASES).sort()).toEqual([...SECRET_KINDS].sort());
  });

  for (const kind of SECRET_KINDS) {
    it(`detects ${kind}`, () => {
      const makers = KIND_CASES[kind] ?? [];
      expect(makers.length).toBeGreaterThan(0);
      makers.forEach((make, variant) => {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const { text, secret } = make(makeRand(seed * 97 + variant));
          const { text: out, findings } = redact(text);
          const at = text.indexOf(secret);
          const hit = findings.find((f) => f.start === at && f.end === at + secret.length);
          expect(hit, `${kind}#${variant} seed ${seed}: ${JSON.stringify(text.slice(0, 200))}`).toBeDefined();
          expect(hit?.type).toBe(kind);
          expect(hit?.value).toBe(secret);
          expect(out).toContain(hit?.placeholder);
          expect(out).not.toContain(secret);
        }
      });
    });
  }
});
