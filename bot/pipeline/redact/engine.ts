/**
 * Detection and rendering. Flow: strip invisible chars (normalize) → locate existing
 * placeholders, which no detector may touch (that is what makes redaction idempotent)
 * → trigger scan → detectors emit candidate spans → overlapping candidates merge into
 * one span named by the highest priority → placeholders numbered by distinct value.
 */
import { PRIORITY, type Detector, type ScanContext } from './detector.ts';
import { DETECTORS } from './detectors/index.ts';
import { normalize, toOriginal } from './normalize.ts';
import { buildTriggerIndex, scanTriggers } from './trigger-index.ts';

export interface Span {
  start: number;
  end: number;
  kind: string;
  /** Priority of the detector that named the span; vendor tokens (≥ PRIORITY.token) need no propagation. */
  priority?: number;
}

interface Candidate extends Span {
  priority: number;
}

const INDEX = buildTriggerIndex(DETECTORS);
const FINISHERS = DETECTORS.filter((d) => d.finish !== undefined);
const PLACEHOLDER = /⟦secret:\d{1,7}:[a-z0-9_]{1,64}⟧/y;

export const DETECTOR_KINDS: readonly string[] = [...new Set(DETECTORS.flatMap((d: Detector) => d.kinds))];

function placeholderSpans(text: string): Int32Array {
  const out: number[] = [];
  for (let i = text.indexOf('⟦secret:'); i !== -1; i = text.indexOf('⟦secret:', i + 1)) {
    PLACEHOLDER.lastIndex = i;
    if (PLACEHOLDER.test(text)) out.push(i, PLACEHOLDER.lastIndex);
  }
  return Int32Array.from(out);
}

function overlapsAny(spans: Int32Array, start: number, end: number): boolean {
  // spans is sorted and disjoint: binary search the first span ending after `start`.
  let lo = 0;
  let hi = spans.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((spans[mid * 2 + 1] as number) <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo < spans.length >> 1 && (spans[lo * 2] as number) < end;
}

function collect(text: string, stopAtFirst: boolean): Candidate[] {
  const guarded = placeholderSpans(text);
  const found: Candidate[] = [];
  const ctx: ScanContext = {
    text,
    memo: new Map(),
    emit(start, end, kind, priority) {
      if (end <= start || start < 0 || end > text.length) return;
      if (guarded.length > 0 && overlapsAny(guarded, start, end)) return;
      found.push({ start, end, kind, priority });
    },
  };
  scanTriggers(INDEX, ctx, stopAtFirst ? () => found.length > 0 : () => false, guarded);
  if (stopAtFirst && found.length > 0) return found;
  for (const d of FINISHERS) d.finish?.(ctx);
  return found;
}

/** Overlapping candidates become one span so no detected secret is left partly visible. */
function merge(cands: Candidate[]): Span[] {
  if (cands.length === 0) return [];
  cands.sort((x, y) => x.start - y.start || y.end - x.end);
  const out: Span[] = [];
  let cur = { ...(cands[0] as Candidate) };
  let best = cands[0] as Candidate;
  const better = (c: Candidate, b: Candidate) =>
    c.priority > b.priority || (c.priority === b.priority && c.end - c.start > b.end - b.start);
  for (let i = 1; i < cands.length; i++) {
    const c = cands[i] as Candidate;
    if (c.start < cur.end) {
      if (c.end > cur.end) cur.end = c.end;
      if (better(c, best)) best = c;
      continue;
    }
    out.push({ start: cur.start, end: cur.end, kind: best.kind, priority: best.priority });
    cur = { ...c };
    best = c;
  }
  out.push({ start: cur.start, end: cur.end, kind: best.kind, priority: best.priority });
  return out;
}

const PROPAGATE_MIN_LENGTH = 8;
const PROPAGATE_MAX_VALUES = 64;

/**
 * Once a value is known to be a secret ("password=hunter22"), every other occurrence of
 * it is one too ("…and I typed hunter22 into the form"). Values shorter than 8 chars are
 * not chased: replacing every "root" in a message would wreck it. Bounded to 64 distinct
 * values so a message stuffed with keys stays linear.
 */
/**
 * Every occurrence of any of `values` (each ≥ 2 chars), in one pass: values are bucketed
 * by their first two chars, like the trigger index, instead of one indexOf per value.
 */
const FIRSTS = new Uint8Array(65536);

function occurrences(text: string, values: readonly string[]): [number, string][] {
  const byBigram = new Map<number, string[]>();
  const out: [number, string][] = [];
  for (const v of values) {
    const key = (v.charCodeAt(0) << 16) | v.charCodeAt(1);
    const list = byBigram.get(key);
    if (list) list.push(v);
    else byBigram.set(key, [v]);
  }
  FIRSTS.fill(0);
  for (const v of values) FIRSTS[v.charCodeAt(0)] = 1;
  const n = text.length;
  for (let i = 0; i < n - 1; i++) {
    const a = text.charCodeAt(i);
    if (FIRSTS[a] === 0) continue;
    const list = byBigram.get((a << 16) | text.charCodeAt(i + 1));
    if (list === undefined) continue;
    for (const v of list) {
      if (text.startsWith(v, i)) {
        out.push([i, v]);
        i += v.length - 1;
        break;
      }
    }
  }
  return out;
}

function propagate(text: string, spans: Span[]): Span[] {
  const values = new Map<string, string>();
  for (const s of spans) {
    if (values.size >= PROPAGATE_MAX_VALUES) break;
    // A vendor token is recognised wherever it stands; only context-found values need chasing.
    if ((s.priority ?? 0) >= PRIORITY.token) continue;
    const v = text.slice(s.start, s.end);
    if (v.length >= PROPAGATE_MIN_LENGTH && !values.has(v)) values.set(v, s.kind);
  }
  if (values.size === 0) return spans;
  const taken = Int32Array.from(spans.flatMap((s) => [s.start, s.end]));
  const guarded = placeholderSpans(text);
  const extra: Candidate[] = [];
  for (const [start, v] of occurrences(text, [...values.keys()])) {
    const end = start + v.length;
    if (overlapsAny(taken, start, end) || (guarded.length > 0 && overlapsAny(guarded, start, end))) continue;
    extra.push({ start, end, kind: values.get(v) as string, priority: 0 });
  }
  if (extra.length === 0) return spans;
  return merge([...spans.map((s) => ({ ...s, priority: s.priority ?? 1 })), ...extra]);
}

/** Detected spans in offsets of `input` itself (invisible chars mapped back), sorted and disjoint. */
function detectOnce(input: string): Span[] {
  const norm = normalize(input);
  const spans = propagate(norm.text, merge(collect(norm.text, false)));
  if (norm.map === null) return spans;
  return spans.map((s) => {
    const [start, end] = toOriginal(norm, s.start, s.end);
    return { start, end, kind: s.kind };
  });
}

interface Replacement {
  inStart: number;
  inEnd: number;
  outStart: number;
  outEnd: number;
}

const MAX_ROUNDS = 3;

/**
 * Spans to redact in `input`. Replacing a secret can change what its neighbours look
 * like (a key id glued to a redacted value now ends at a placeholder), so the lines
 * that received a placeholder are scanned again, up to a fixed point. That is what makes
 * `redact(redact(x).text)` find nothing, and it only costs a rescan of touched lines.
 */
export function detect(input: string): Span[] {
  let spans = detectOnce(input);
  for (let round = 0; round < MAX_ROUNDS && spans.length > 0; round++) {
    const { text: out, replacements } = substitute(input, spans, () => '⟦secret:0:x⟧');
    const added: Span[] = [];
    for (const [ws, we] of touchedLines(out, replacements)) {
      for (const s of detectOnce(out.slice(ws, we))) {
        const os = ws + s.start;
        const delta = deltaBefore(replacements, os);
        added.push({ start: os + delta, end: ws + s.end + delta, kind: s.kind });
      }
    }
    if (added.length === 0) break;
    spans = [...spans, ...added].sort((x, y) => x.start - y.start);
  }
  return spans;
}

function substitute(input: string, spans: readonly Span[], placeholder: (s: Span, i: number) => string) {
  const replacements: Replacement[] = [];
  let out = '';
  let last = 0;
  spans.forEach((s, i) => {
    out += input.slice(last, s.start);
    const p = placeholder(s, i);
    replacements.push({ inStart: s.start, inEnd: s.end, outStart: out.length, outEnd: out.length + p.length });
    out += p;
    last = s.end;
  });
  return { text: out + input.slice(last), replacements };
}

/** Whole lines of `out` that contain a replacement, merged when adjacent. */
function touchedLines(out: string, reps: readonly Replacement[]): [number, number][] {
  const windows: [number, number][] = [];
  for (const r of reps) {
    const prev = windows[windows.length - 1];
    if (prev !== undefined && r.outStart < prev[1]) continue;
    const start = out.lastIndexOf('\n', r.outStart - 1) + 1;
    const nl = out.indexOf('\n', r.outEnd);
    const end = nl === -1 ? out.length : nl;
    if (prev !== undefined && start <= prev[1]) prev[1] = end;
    else windows.push([start, end]);
  }
  return windows;
}

/** input offset − output offset for an output position outside every replacement. */
function deltaBefore(reps: readonly Replacement[], outPos: number): number {
  let lo = 0;
  let hi = reps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((reps[mid] as Replacement).outEnd <= outPos) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  const r = reps[lo - 1] as Replacement;
  return r.inEnd - r.outEnd;
}

export function hasAnySecret(input: string): boolean {
  return collect(normalize(input).text, true).length > 0;
}

export interface RenderedFinding extends Span {
  value: string;
  placeholder: string;
}

const INVISIBLE_G = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

/** Replaces spans with `⟦secret:N:kind⟧`, N counted per distinct secret value in order of appearance. */
export function render(input: string, spans: readonly Span[], withFindings: boolean): { text: string; findings: RenderedFinding[] } {
  const numbers = new Map<string, number>();
  const placeholders = spans.map((s) => {
    const key = input.slice(s.start, s.end).replace(INVISIBLE_G, '');
    let n = numbers.get(key);
    if (n === undefined) {
      n = numbers.size + 1;
      numbers.set(key, n);
    }
    return `⟦secret:${n}:${s.kind}⟧`;
  });
  const { text } = substitute(input, spans, (_s, i) => placeholders[i] as string);
  const findings = withFindings
    ? spans.map((s, i) => ({ ...s, value: input.slice(s.start, s.end), placeholder: placeholders[i] as string }))
    : [];
  return { text, findings };
}
