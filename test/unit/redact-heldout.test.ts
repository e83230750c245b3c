import { describe, expect, it } from 'vitest';
import { redact, SECRET_KINDS } from '../../bot/pipeline/redact/index.ts';
import { heldOutCorpus, scoreHeldOut } from '../fixtures/redact/heldout.ts';

/**
 * The held-out corpus (test/fixtures/redact/heldout.ts) is generated independently of the
 * corpus the detectors were tuned on: other templates, other token generators, and many
 * look-alikes. The targets hold there too.
 */
describe('held-out evaluation corpus', () => {
  const samples = [...heldOutCorpus(11, 2000), ...heldOutCorpus(29, 2000)];
  const score = scoreHeldOut(samples, (text) => redact(text).findings);

  it('labels every detector kind', () => {
    const labelled = new Set(samples.flatMap((s) => s.spans.map((x) => x.kind)));
    expect(SECRET_KINDS.filter((k) => !labelled.has(k))).toEqual([]);
  });

  it('reaches recall ≥ 0.99 and precision ≥ 0.98 overall', () => {
    console.info(
      `held-out eval: ${score.samples} samples, ${score.labelled} labelled secrets, recall ${score.recall.toFixed(4)}, ` +
        `precision ${score.precision.toFixed(4)}`,
    );
    expect(score.labelled).toBeGreaterThan(5000);
    expect(score.recall, score.misses.slice(0, 10).join('\n')).toBeGreaterThanOrEqual(0.99);
    expect(score.precision, score.falseAlarms.slice(0, 10).join('\n')).toBeGreaterThanOrEqual(0.98);
  });

  it('misses no kind wholesale: recall ≥ 0.9 for every kind with 10+ samples', () => {
    const weak = [...score.byKind].filter(([, k]) => k.labelled >= 10 && k.recalled / k.labelled < 0.9).map(([kind, k]) => `${kind} ${k.recalled}/${k.labelled}`);
    expect(weak, score.misses.slice(0, 10).join('\n')).toEqual([]);
  });
});
