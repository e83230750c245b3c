/**
 * The prefilter: one pass over the text looking up each bigram in a 64K-entry table.
 * Only where a detector's literal trigger starts does that detector's regex run, so
 * the cost of ~100 detectors on chat text is one table lookup per character.
 */
import type { Detector, ScanContext } from './detector.ts';

interface Entry {
  readonly text: string;
  readonly lower: string;
  readonly caseSensitive: boolean;
  readonly detectors: readonly number[];
}

const LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) LOWER[c] = c >= 65 && c <= 90 ? c | 0x20 : c;

export interface TriggerIndex {
  readonly detectors: readonly Detector[];
  /** (first << 8 | second) char code → 1-based index into `buckets`, 0 when no trigger starts so. */
  readonly table: Uint16Array;
  readonly buckets: readonly (readonly Entry[])[];
  /** (bucket - 1) * 256 + third char → 1 when some entry of the bucket allows that third char. */
  readonly third: Uint8Array;
}

export function buildTriggerIndex(detectors: readonly Detector[]): TriggerIndex {
  const byKey = new Map<string, { text: string; cs: boolean; ids: number[] }>();
  detectors.forEach((d, id) => {
    for (const t of d.triggers) {
      if (t.length < 2 || [...t].some((ch) => ch.charCodeAt(0) > 0x7f)) throw new Error(`bad trigger ${JSON.stringify(t)} in ${d.id}`);
      const key = d.caseSensitive ? `cs:${t}` : `ci:${t.toLowerCase()}`;
      const e = byKey.get(key) ?? { text: t, cs: d.caseSensitive, ids: [] };
      if (!e.ids.includes(id)) e.ids.push(id);
      byKey.set(key, e);
    }
  });
  // Keyed by the first two chars as written (Latin-1 range), so the hot loop needs no
  // case folding: a case-insensitive trigger is entered under all four case variants.
  const table = new Uint16Array(256 * 256);
  const buckets: Entry[][] = [];
  const bucketOf = new Map<number, number>();
  for (const e of byKey.values()) {
    const lower = e.text.toLowerCase();
    const entry: Entry = { text: e.text, lower, caseSensitive: e.cs, detectors: e.ids };
    const firsts = e.cs ? [e.text[0] as string] : [...new Set([lower[0] as string, (lower[0] as string).toUpperCase()])];
    const seconds = e.cs ? [e.text[1] as string] : [...new Set([lower[1] as string, (lower[1] as string).toUpperCase()])];
    for (const a of firsts) {
      for (const b of seconds) {
        const slot = (a.charCodeAt(0) << 8) | b.charCodeAt(0);
        let k = bucketOf.get(slot);
        if (k === undefined) {
          buckets.push([]);
          k = buckets.length;
          bucketOf.set(slot, k);
          table[slot] = k;
        }
        (buckets[k - 1] as Entry[]).push(entry);
      }
    }
  }
  const third = new Uint8Array(buckets.length * 256);
  buckets.forEach((bucket, k) => {
    for (const e of bucket) {
      const t = e.caseSensitive ? e.text : e.lower;
      const c = t.charCodeAt(2);
      if (Number.isNaN(c)) {
        third.fill(1, k * 256, k * 256 + 256);
        continue;
      }
      third[k * 256 + c] = 1;
      if (!e.caseSensitive) third[k * 256 + (t[2] as string).toUpperCase().charCodeAt(0)] = 1;
    }
  });
  return { detectors, table, buckets, third };
}

function matchesAt(text: string, i: number, e: Entry): boolean {
  if (e.caseSensitive) return text.startsWith(e.text, i);
  const t = e.lower;
  const len = t.length;
  if (i + len > text.length) return false;
  for (let j = 2; j < len; j++) {
    const c = text.charCodeAt(i + j);
    if (c >= 128 || LOWER[c] !== t.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * Runs `detector.scan(ctx, position)` for each trigger occurrence, at most once per
 * detector and position. Returns early once `stop()` is true after a scan.
 */
export function scanTriggers(
  index: TriggerIndex,
  ctx: ScanContext,
  stop: () => boolean,
  /** Sorted disjoint [start, end) pairs (existing placeholders) where no trigger may start. */
  skip: Int32Array = new Int32Array(0),
): void {
  const text = ctx.text;
  const detectors = index.detectors;
  let nextSkip = skip.length > 0 ? (skip[0] as number) : Infinity;
  let k = 0;
  const { table, buckets, third } = index;
  const lastAt = new Int32Array(index.detectors.length).fill(-1);
  const n = text.length;
  let b = n > 0 ? text.charCodeAt(0) : 0;
  for (let i = 0; i < n - 1; i++) {
    if (i >= nextSkip) {
      i = (skip[k + 1] as number) - 1;
      k += 2;
      nextSkip = k < skip.length ? (skip[k] as number) : Infinity;
      b = text.charCodeAt(i + 1);
      continue;
    }
    const a = b;
    b = text.charCodeAt(i + 1);
    if ((a | b) > 255) continue;
    const slot = table[(a << 8) | b] as number;
    if (slot === 0) continue;
    const c = i + 2 < n ? text.charCodeAt(i + 2) : 0;
    if (c > 255 || third[((slot - 1) << 8) | c] === 0) continue;
    const bucket = buckets[slot - 1] as readonly Entry[];
    for (let k = 0; k < bucket.length; k++) {
      const e = bucket[k] as Entry;
      if (!matchesAt(text, i, e)) continue;
      for (const d of e.detectors) {
        if (lastAt[d] === i) continue;
        lastAt[d] = i;
        (detectors[d] as Detector).scan(ctx, i);
        if (stop()) return;
      }
    }
  }
}
