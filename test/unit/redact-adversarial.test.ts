import { describe, expect, it } from 'vitest';
import { adversarialInputs } from '../../bench/redact.ts';
import { MAX_REDACT_INPUT, redact, redactForLog } from '../../bot/pipeline/redact/index.ts';

// Completion only: timing claims live in bench/redact.ts, not in a shared CI runner's test.
describe('adversarial inputs complete', () => {
  for (const [name, input] of adversarialInputs()) {
    it(name, () => {
      expect(input.length).toBeLessThanOrEqual(MAX_REDACT_INPUT);
      const { text, findings } = redact(input);
      expect(typeof text).toBe('string');
      for (const f of findings.slice(0, 100)) expect(input.slice(f.start, f.end)).toBe(f.value);
    });
  }

  it('an input of exactly the limit made of a nasty mix', () => {
    const unit = '-----BEGIN PRIVATE KEY-----eyJ=:password=key: Bearer \u200b';
    const input = unit.repeat(Math.ceil(MAX_REDACT_INPUT / unit.length)).slice(0, MAX_REDACT_INPUT);
    expect(redactForLog(input).length).toBeGreaterThan(0);
  });
});
