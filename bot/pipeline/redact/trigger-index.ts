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

/** Whether entry `e` starts at `i`, given that its first two chars matched through the table. */
function matchesAt(text: string, i: number, e: Entry): boolean {
  const len = e.text.length;
  if (i + len > text.length) return false;
  if (e.caseSensitive) {
    // The table is keyed by the first two chars as written, so they are equal already.
    const t = e.text;
    for (let j = 2; j < len; j++) if (text.charCodeAt(i + j) !== t.charCodeAt(j)) return false;
    return true;
  }
  const t = e.lower;
  for (let j = 2; j < len; j++) {
    const c = text.charCodeAt(i + j);
    if (c >= 128 || LOWER[c] !== t.charCodeAt(j)) return false;
  }
  return true;
}

const NO_SKIP = new Int32Array(0);
let lastAtScratch = new Int32Array(0);

/**
 * Runs `detector.scan(ctx, position)` for each trigger occurrence, at most once per
 * detector and position. Returns early once `stop()` is true after a scan.
 */
export function scanTriggers(
  index: TriggerIndex,
  ctx: ScanContext,
  stop: (() => boolean) | null,
  /** Sorted disjoint [start, end) pairs (existing placeholders) where no trigger may start. */
  skip: Int32Array = NO_SKIP,
): void {
  const text = ctx.text;
  const { detectors, table, buckets, third } = index;
  // Scans do not nest, so one scratch array serves every call.
  if (lastAtScratch.length < detectors.length) lastAtScratch = new Int32Array(detectors.length);
  const lastAt = lastAtScratch;
  lastAt.fill(-1);
  const n = text.length;
  const last = n - 1; // a trigger has at least two chars
  let from = 0;
  for (let k = 0; k <= skip.length; k += 2) {
    const to = k < skip.length ? Math.min(skip[k] as number, last) : last;
    let b = text.charCodeAt(from);
    for (let i = from; i < to; i++) {
      const a = b;
      b = text.charCodeAt(i + 1);
      if ((a | b) > 255) continue;
      const slot = table[(a << 8) | b] as number;
      if (slot === 0) continue;
      const c = i + 2 < n ? text.charCodeAt(i + 2) : 0;
      if (c > 255 || third[((slot - 1) << 8) | c] === 0) continue;
      const bucket = buckets[slot - 1] as readonly Entry[];
      for (let e = 0; e < bucket.length; e++) {
        const entry = bucket[e] as Entry;
        if (!matchesAt(text, i, entry)) continue;
        const ids = entry.detectors;
        for (let j = 0; j < ids.length; j++) {
          const d = ids[j] as number;
          if (lastAt[d] === i) continue;
          lastAt[d] = i;
          (detectors[d] as Detector).scan(ctx, i);
          if (stop !== null && stop()) return;
        }
      }
    }
    if (k < skip.length) from = skip[k + 1] as number;
  }
}

/**
 * Whether any trigger starts in [from, to - 1) of `text` outside the `skip` spans. A
 * superset test: a trigger running past `to` still counts.
 */
export function hasTrigger(index: TriggerIndex, text: string, from: number, to: number, skip: Int32Array): boolean {
  const { table, buckets, third } = index;
  const n = text.length;
  const end = Math.min(to, n) - 1;
  // First skip span ending after `from`, by binary search over the pairs.
  let lo = 0;
  let hi = skip.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((skip[mid * 2 + 1] as number) <= from) lo = mid + 1;
    else hi = mid;
  }
  let k = lo * 2;
  let i = from;
  while (i < end) {
    const segEnd = k < skip.length ? Math.min(skip[k] as number, end) : end;
    for (; i < segEnd; i++) {
      const a = text.charCodeAt(i);
      const b = text.charCodeAt(i + 1);
      if ((a | b) > 255) continue;
      const slot = table[(a << 8) | b] as number;
      if (slot === 0) continue;
      const c = i + 2 < n ? text.charCodeAt(i + 2) : 0;
      if (c > 255 || third[((slot - 1) << 8) | c] === 0) continue;
      for (const entry of buckets[slot - 1] as readonly Entry[]) if (matchesAt(text, i, entry)) return true;
    }
    if (k >= skip.length) break;
    i = Math.max(i, skip[k + 1] as number);
    k += 2;
  }
  return false;
}
