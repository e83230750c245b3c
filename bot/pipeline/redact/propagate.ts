/**
 * Once a value is known to be a secret ("password=hunter22"), every other occurrence of
 * it is one too ("…and I typed hunter22 into the form"). Values shorter than 8 chars are
 * not chased: replacing every "root" in a message would wreck it. Bounded to 64 distinct
 * values so a message stuffed with keys stays linear.
 */
import { PRIORITY } from './detector.ts';
import { merge, overlapsAny, placeholderSpans, type Candidate, type Span } from './spans.ts';

const PROPAGATE_MIN_LENGTH = 8;
const PROPAGATE_MAX_VALUES = 64;

// Wu–Manber tables, shared and rebuilt per call: a bigram hash → how far the window may
// shift, and the values whose window (first `m` chars) ends in that bigram.
const SHIFT = new Uint8Array(65536);
const hash = (a: number, b: number): number => ((a & 0xff) << 8) | (b & 0xff);

/**
 * Every occurrence of any of `values` (each ≥ 2 chars), left to right: at each position
 * the first value (in the given order) that starts there wins and the scan resumes after
 * it. Wu–Manber over bigrams: a window of the shortest value's length slides by up to
 * length − 1 chars per step, so chat text costs a fraction of a lookup per char.
 */
export function occurrences(text: string, values: readonly string[]): [number, string][] {
  const out: [number, string][] = [];
  if (values.length === 0) return out;
  let m = Infinity;
  for (const v of values) if (v.length < m) m = v.length;
  const maxShift = Math.min(m - 1, 255);
  const w = maxShift + 1; // window length: the last `w` chars of it decide the shift
  SHIFT.fill(maxShift);
  const cands = new Map<number, string[]>();
  for (const v of values) {
    // Bigram ending at q (chars q-1, q) of the window, q = 1 … w-1.
    for (let q = 1; q < w; q++) {
      const h = hash(v.charCodeAt(q - 1), v.charCodeAt(q));
      const s = w - 1 - q;
      if (s < (SHIFT[h] as number)) SHIFT[h] = s;
      if (s === 0) {
        const list = cands.get(h);
        if (list === undefined) cands.set(h, [v]);
        else list.push(v);
      }
    }
  }
  const n = text.length;
  let i = 0;
  while (i + w <= n) {
    const h = hash(text.charCodeAt(i + w - 2), text.charCodeAt(i + w - 1));
    const s = SHIFT[h] as number;
    if (s !== 0) {
      i += s;
      continue;
    }
    let next = i + 1;
    for (const v of cands.get(h) as string[]) {
      if (text.startsWith(v, i)) {
        out.push([i, v]);
        next = i + v.length;
        break;
      }
    }
    i = next;
  }
  return out;
}

export function propagate(text: string, spans: Span[]): Span[] {
  const values = new Map<string, string>();
  for (const s of spans) {
    if (values.size >= PROPAGATE_MAX_VALUES) break;
    // A vendor token is recognised wherever it stands; only context-found values need chasing.
    if ((s.priority ?? 0) >= PRIORITY.token) continue;
    if (s.end - s.start < PROPAGATE_MIN_LENGTH) continue;
    const v = text.slice(s.start, s.end);
    if (!values.has(v)) values.set(v, s.kind);
  }
  if (values.size === 0) return spans;
  const found = occurrences(text, [...values.keys()]);
  // Usually each value is found only where it was detected: nothing to add.
  if (found.every(([start]) => startsSpan(spans, start))) return spans;
  const taken = new Int32Array(spans.length * 2);
  spans.forEach((s, i) => {
    taken[i * 2] = s.start;
    taken[i * 2 + 1] = s.end;
  });
  const guarded = placeholderSpans(text);
  const extra: Candidate[] = [];
  for (const [start, v] of found) {
    const end = start + v.length;
    if (overlapsAny(taken, start, end) || (guarded.length > 0 && overlapsAny(guarded, start, end))) continue;
    extra.push({ start, end, kind: values.get(v) as string, priority: 0 });
  }
  if (extra.length === 0) return spans;
  return merge([...spans.map((s) => ({ ...s, priority: s.priority ?? 1 })), ...extra]);
}

/** Whether some span of `spans` (sorted by start) starts at `pos`. */
function startsSpan(spans: readonly Span[], pos: number): boolean {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((spans[mid] as Span).start < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo < spans.length && (spans[lo] as Span).start === pos;
}
