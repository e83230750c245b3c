import { describe, expect, it } from 'vitest';
import { redact } from '../../bot/pipeline/redact/index.ts';
import { evalCorpus } from '../fixtures/redact/corpus.ts';

/**
 * Recall: share of labelled secret spans fully covered by some finding.
 * Precision: share of findings that overlap a labelled span.
 */
describe('evaluation corpus', () => {
  it('reaches recall ≥ 0.99 and precision ≥ 0.98', () => {
    const samples = evalCorpus(42, 2500);
    let labelled = 0;
    let recalled = 0;
    let reported = 0;
    let correct = 0;
    let kindMatches = 0;
    const misses: string[] = [];
    const falseAlarms: string[] = [];
    for (const s of samples) {
      const { findings } = redact(s.text);
      for (const g of s.spans) {
        labelled++;
        const f = findings.find((x) => x.start <= g.start && x.end >= g.end);
        if (f === undefined) misses.push(`${g.kind}: ${JSON.stringify(s.text.slice(g.start - 30, g.end + 10))}`);
        else {
          recalled++;
          if (f.type === g.kind) kindMatches++;
        }
      }
      for (const f of findings) {
        reported++;
        if (s.spans.some((g) => g.start < f.end && f.start < g.end)) correct++;
        else falseAlarms.push(`${f.type}: ${JSON.stringify(s.text.slice(f.start - 30, f.end + 10))}`);
      }
    }
    const recall = recalled / labelled;
    const precision = correct / reported;
    console.info(
      `redaction eval: ${samples.length} samples, ${labelled} labelled secrets, recall ${recall.toFixed(4)}, ` +
        `precision ${precision.toFixed(4)}, kind accuracy ${(kindMatches / recalled).toFixed(4)}`,
    );
    expect(labelled).toBeGreaterThan(1000);
    expect(recall, misses.slice(0, 10).join('\n')).toBeGreaterThanOrEqual(0.99);
    expect(precision, falseAlarms.slice(0, 10).join('\n')).toBeGreaterThanOrEqual(0.98);
  });
});
