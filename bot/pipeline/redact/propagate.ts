/**
 * Once a value is known to be a secret ("password=hunter22"), every other occurrence of
 * it is one too ("…and I typed hunter22 into the form"). Values shorter than 8 chars are
 * not chased: replacing every "root" in a message would wreck it. Bounded to 64 distinct
 * values, taken from the first 4096 spans, so a message stuffed with keys stays linear.
 */
import { merge, overlapsAny, placeholderSpans, type Candidate, type Span } from './spans.ts';

const PROPAGATE_MIN_LENGTH = 8;
const PROPAGATE_MAX_VALUES = 64;
/** Values are taken from the first this many spans: a message stuffed with keys stays cheap. */
const PROPAGATE_MAX_SPANS = 4096;

// Wu–Manber tables, shared and rebuilt per call: a bigram hash → how far the window may
// shift, and the values whose window (first `m` chars) ends in that bigram.
const SHIFT = new Uint8Array(65536);
const hash = (a: number, b: number): number => ((a & 0xff) << 8) | (b & 0xff);
/** Bigram hash → the values whose window ends in it (set per call, cleared after). */
const CANDS: (number[] | undefined)[] = new Array<number[] | undefined>(65536).fill(undefined);

/**
 * Every occurrence of any of `values` (each ≥ 2 chars), left to right: at each position
 * the first value (in the given order) that starts there wins and the scan resumes after
 * it. Wu–Manber over bigrams: a window of the shortest value's length slides by up to
 * length − 1 chars per step, so chat text costs a fraction of a lookup per char.
 */
export function occurrences(text: string, values: readonly string[]): [number, string][] {
  const out: [number, string][] = [];
  eachOccurrence(text, values, [0, text.length], (start, k) => out.push([start, values[k] as string]));
  return out;
}

/** `occurrences` within each [from, to) range of `ranges` (flat pairs, in order): for tests. */
export function occurrencesIn(text: string, values: readonly string[], ranges: readonly number[]): [number, string][] {
  const out: [number, string][] = [];
  eachOccurrence(text, values, ranges, (start, k) => out.push([start, values[k] as string]));
  return out;
}

/**
 * `occurrences` within each [from, to) range of `ranges` (flat pairs, in order), without
 * building a result: calls `found(start, index of the value)` for each, in text order.
 */
function eachOccurrence(text: string, values: readonly string[], ranges: readonly number[], found: (start: number, k: number) => void): void {
  if (values.length === 0) return;
  if (values.length === 1 && (values[0] as string).length >= INDEXOF_MIN_LENGTH) {
    eachOccurrenceOf(text, values[0] as string, ranges, found);
    return;
  }
  let m = Infinity;
  for (const v of values) if (v.length < m) m = v.length;
  const maxShift = Math.min(m - 1, 255);
  const w = maxShift + 1; // window length: the last `w` chars of it decide the shift
  SHIFT.fill(maxShift);
  const used: number[] = [];
  values.forEach((v, k) => {
    // Bigram ending at q (chars q-1, q) of the window, q = 1 … w-1.
    for (let q = 1; q < w; q++) {
      const h = hash(v.charCodeAt(q - 1), v.charCodeAt(q));
      const s = w - 1 - q;
      if (s < (SHIFT[h] as number)) SHIFT[h] = s;
      if (s === 0) {
        const list = CANDS[h];
        if (list === undefined) {
          CANDS[h] = [k];
          used.push(h);
        } else list.push(k);
      }
    }
  });
  try {
    for (let r = 0; r < ranges.length; r += 2) scanWindows(text, values, w, ranges[r] as number, ranges[r + 1] as number, found);
  } finally {
    for (const h of used) CANDS[h] = undefined;
  }
}

/**
 * Shortest value searched by `indexOf`. A call costs more than Wu–Manber's few steps over
 * a short gap, and a message stuffed with a short value (Kubernetes entries) has a gap
 * before every repeat; gaps shorter than a long value are not searched at all.
 */
const INDEXOF_MIN_LENGTH = 64;

/**
 * `eachOccurrence` for one long value: `indexOf` (a native string search, which compares a
 * long value much faster than a char loop). The next occurrence found stays valid for
 * the later ranges it lies in (positions only grow), so no stretch is searched twice.
 */
function eachOccurrenceOf(text: string, v: string, ranges: readonly number[], found: (start: number, k: number) => void): void {
  const m = v.length;
  // The first occurrence at or after the last search's start (-1: none; -2: no search yet).
  let next = -2;
  for (let r = 0; r < ranges.length; r += 2) {
    const to = ranges[r + 1] as number;
    let i = ranges[r] as number;
    while (i + m <= to) {
      if (next !== -1 && next < i) next = text.indexOf(v, i);
      if (next === -1) return;
      if (next + m > to) break;
      found(next, 0);
      i = next + m;
    }
  }
}

function scanWindows(text: string, values: readonly string[], w: number, from: number, n: number, found: (start: number, k: number) => void): void {
  let i = from;
  while (i + w <= n) {
    const h = hash(text.charCodeAt(i + w - 2), text.charCodeAt(i + w - 1));
    const s = SHIFT[h] as number;
    if (s !== 0) {
      i += s;
      continue;
    }
    let next = i + 1;
    for (const k of CANDS[h] as number[]) {
      const v = values[k] as string;
      if (i + v.length <= n && startsAt(text, i, v)) {
        found(i, k);
        next = i + v.length;
        break;
      }
    }
    i = next;
  }
}

/** `text.startsWith(v, i)` as a char loop (no builtin call: it runs once per occurrence). */
function startsAt(text: string, i: number, v: string): boolean {
  if (i + v.length > text.length) return false;
  for (let j = 0; j < v.length; j++) if (text.charCodeAt(i + j) !== v.charCodeAt(j)) return false;
  return true;
}

export function propagate(text: string, spans: Span[]): Span[] {
  const values = new Map<string, string>();
  // Vendor tokens too: one glued to a word (`xoxb-AKIA…`, `bAKIA…`) fails its own rule's
  // boundary, yet the same value found elsewhere in the message is a secret there as well.
  let prevStart = -1;
  let prevLength = 0;
  const examined = Math.min(spans.length, PROPAGATE_MAX_SPANS);
  for (let i = 0; i < examined; i++) {
    const s = spans[i] as Span;
    if (values.size >= PROPAGATE_MAX_VALUES) break;
    const length = s.end - s.start;
    if (length < PROPAGATE_MIN_LENGTH) continue;
    // Runs of one value (a message stuffed with one key) need no slice or lookup each.
    if (length === prevLength && sameChars(text, prevStart, s.start, length)) continue;
    prevStart = s.start;
    prevLength = length;
    const v = text.slice(s.start, s.end);
    if (!values.has(v)) values.set(v, s.kind);
  }
  if (values.size === 0) return spans;
  const list = [...values.keys()];
  // An occurrence overlapping a detected span adds nothing, so only the gaps between spans
  // are searched (a message stuffed with keys has no gap worth searching). Occurrences come
  // in text order. Usually there is none: nothing is built then.
  let shortest = Infinity;
  for (const v of list) if (v.length < shortest) shortest = v.length;
  const gaps: number[] = [];
  let last = 0;
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k] as Span;
    if (s.start - last >= shortest) gaps.push(last, s.start);
    last = s.end;
  }
  if (text.length - last >= shortest) gaps.push(last, text.length);
  if (gaps.length === 0) return spans;
  let guarded: Int32Array | null = null;
  let extra: Candidate[] | null = null;
  eachOccurrence(text, list, gaps, (start, which) => {
    const v = list[which] as string;
    const end = start + v.length;
    guarded ??= placeholderSpans(text);
    if (guarded.length > 0 && overlapsAny(guarded, start, end)) return;
    (extra ??= []).push({ start, end, kind: values.get(v) as string, priority: 0, value: v });
  });
  if (extra === null) return spans;
  return merge([...spans.map((s) => ({ ...s, priority: s.priority ?? 1 })), ...(extra as Candidate[])]);
}

function sameChars(text: string, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

