/**
 * Span bookkeeping shared by the engine and propagation: the span types, existing
 * placeholders (which no detector may touch: that is what makes redaction idempotent),
 * and overlap tests against sorted disjoint span lists.
 */
export interface Span {
  start: number;
  end: number;
  kind: string;
  /** Priority of the detector that named the span (propagated occurrences of a value: 0). */
  priority?: number;
  /** The span's chars, when already at hand (a propagated occurrence): render need not read them. */
  value?: string;
}

export interface Candidate extends Span {
  priority: number;
}

const PLACEHOLDER = /⟦secret:\d{1,7}:[a-z0-9_]{1,64}⟧/y;
const EMPTY = new Int32Array(0);

/** [start, end) pairs of every well-formed placeholder in `text`, sorted and disjoint. */
export function placeholderSpans(text: string): Int32Array {
  let i = text.indexOf('⟦secret:');
  if (i === -1) return EMPTY;
  const out: number[] = [];
  for (; i !== -1; i = text.indexOf('⟦secret:', i + 1)) {
    PLACEHOLDER.lastIndex = i;
    if (PLACEHOLDER.test(text)) out.push(i, PLACEHOLDER.lastIndex);
  }
  return out.length === 0 ? EMPTY : Int32Array.from(out);
}

/** Whether [start, end) overlaps one of `spans` (sorted, disjoint [start, end) pairs). */
export function overlapsAny(spans: Int32Array, start: number, end: number): boolean {
  // Binary search the first span ending after `start`.
  let lo = 0;
  let hi = spans.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((spans[mid * 2 + 1] as number) <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo < spans.length >> 1 && (spans[lo * 2] as number) < end;
}

/**
 * Overlapping candidates become one span so no detected secret is left partly visible.
 * A candidate that overlaps nothing is returned as is (it has the shape of a span).
 */
export function merge(cands: Candidate[]): Span[] {
  if (cands.length === 0) return [];
  // Detectors mostly emit in text order: skip the sort (a comparator call per pair and a
  // scratch copy) when the candidates are in order already; the sort is stable, so an
  // ordered list is its own result.
  let ordered = true;
  for (let i = 1; i < cands.length; i++) {
    const x = cands[i - 1] as Candidate;
    const y = cands[i] as Candidate;
    if (x.start > y.start || (x.start === y.start && x.end < y.end)) {
      ordered = false;
      break;
    }
  }
  if (!ordered) cands.sort((x, y) => x.start - y.start || y.end - x.end);
  // Disjoint candidates (the usual case) are their own result: no copy of the list.
  let disjoint = true;
  for (let i = 1; i < cands.length; i++) {
    if ((cands[i] as Candidate).start < (cands[i - 1] as Candidate).end) {
      disjoint = false;
      break;
    }
  }
  if (disjoint) return cands;
  const out: Span[] = [];
  let best = cands[0] as Candidate;
  let start = best.start;
  let end = best.end;
  let alone = true;
  for (let i = 1; i < cands.length; i++) {
    const c = cands[i] as Candidate;
    if (c.start < end) {
      if (c.end > end) end = c.end;
      if (c.priority > best.priority || (c.priority === best.priority && c.end - c.start > best.end - best.start)) best = c;
      alone = false;
      continue;
    }
    out.push(alone ? best : { start, end, kind: best.kind, priority: best.priority });
    start = c.start;
    end = c.end;
    best = c;
    alone = true;
  }
  out.push(alone ? best : { start, end, kind: best.kind, priority: best.priority });
  return out;
}
