/**
 * Detection and rendering. Flow: strip invisible chars (normalize) → locate existing
 * placeholders, which no detector may touch (that is what makes redaction idempotent)
 * → trigger scan → detectors emit candidate spans → overlapping candidates merge into
 * one span named by the highest priority → every other occurrence of a context-found
 * value joins (propagate) → placeholders numbered by distinct value.
 *
 * Cost model: one trigger-table pass over the text, detector work only at triggers,
 * one Wu–Manber pass for propagation, and idempotence rounds that rescan only lines
 * holding a new placeholder and, of those, only lines where some trigger still starts
 * outside a placeholder. The output is built by concatenation (flattened once when read).
 */
import { freshSlots, type Detector, type ScanContext } from './detector.ts';
import { DETECTORS } from './detectors/index.ts';
import { normalize, toOriginal } from './normalize.ts';
import { propagate } from './propagate.ts';
import { merge, overlapsAny, placeholderSpans, type Candidate, type Span } from './spans.ts';
import { buildTriggerIndex, hasTriggerIn, scanTriggers } from './trigger-index.ts';

export type { Span } from './spans.ts';

const INDEX = buildTriggerIndex(DETECTORS);
const FINISHERS = DETECTORS.filter((d) => d.finish !== undefined);

export const DETECTOR_KINDS: readonly string[] = [...new Set(DETECTORS.flatMap((d: Detector) => d.kinds))];

/**
 * The same text as one sequential string. Slices of a longer string (what callers often
 * pass) make every `charCodeAt` in the detectors and in `render` go through an
 * indirection; a join of two halves copies the chars once (~0.7 ms per MB) and the
 * char loops then run ~1.5× faster on dense input. The entry points (index.ts) copy once
 * and hand the copy to both `detect` and `render`.
 */
export function sequential(text: string): string {
  if (text.length < 4096) return text;
  const mid = text.length >> 1;
  return [text.slice(0, mid), text.slice(mid)].join('');
}

function collect(text: string, stopAtFirst: boolean): Candidate[] {
  const guarded = placeholderSpans(text);
  const found: Candidate[] = [];
  const ctx: ScanContext = {
    text,
    memo: new Map(),
    slots: freshSlots(),
    emit(start, end, kind, priority, value) {
      if (end <= start || start < 0 || end > text.length) return;
      if (guarded.length > 0 && overlapsAny(guarded, start, end)) return;
      found.push({ start, end, kind, priority, value });
    },
  };
  scanTriggers(INDEX, ctx, stopAtFirst ? () => found.length > 0 : null, guarded);
  if (stopAtFirst && found.length > 0) return found;
  // Finishers flush work that scans left pending (each knows from its own slots whether any).
  for (const d of FINISHERS) d.finish?.(ctx);
  return found;
}

/** Detected spans in offsets of `input` itself (invisible chars mapped back), sorted and disjoint. */
function detectOnce(input: string): Detection {
  const norm = normalize(input);
  const spans = propagate(norm.text, merge(collect(norm.text, false)));
  if (norm.map === null) return { spans, invisible: false };
  const mapped = spans.map((s) => {
    const [start, end] = toOriginal(norm, s.start, s.end);
    return { start, end, kind: s.kind };
  });
  return { spans: mapped, invisible: true };
}

export interface Detection {
  /** Sorted, disjoint spans in offsets of the input. */
  spans: Span[];
  /** Whether the input holds invisible chars (which the placeholder numbering ignores). */
  invisible: boolean;
}

const MAX_ROUNDS = 3;
const ROUND_PLACEHOLDER = '⟦secret:0:x⟧';

/**
 * Spans to redact in `input`. Replacing a secret can change what its neighbours look
 * like (a key id glued to a redacted value now ends at a placeholder), so the lines
 * that received a placeholder are scanned again, up to a fixed point. That is what makes
 * `redact(redact(x).text)` find nothing. A touched line where no trigger starts outside
 * a placeholder cannot yield a detection, so it is not rescanned.
 *
 * The lines are found and tested in `input` itself (a line of the substituted text is a
 * line of `input` whose spans are placeholders); only lines that pass the trigger test
 * are built as strings, so a round costs no copy of the whole text.
 */
export function detect(input: string): Detection {
  const first = detectOnce(input);
  let spans = first.spans;
  const invisible = first.invisible;
  for (let round = 0; round < MAX_ROUNDS && spans.length > 0; round++) {
    const added: Span[] = [];
    // The first newline at or after position `nlFrom` (input.length: none); positions
    // only grow within a round, so each stretch of text is searched once.
    let nlFrom = -1;
    let nl = -1;
    let i = 0;
    while (i < spans.length) {
      // The window: the line (by `\n` outside spans) holding span i, and every later span
      // on it. The previous window ended at a newline, so the search back stops there.
      // A char loop rather than `lastIndexOf` (a runtime call, costly once per span on dense input).
      let a = (spans[i] as Span).start;
      while (a > 0 && input.charCodeAt(a - 1) !== 10) a--;
      let j = i;
      let b = (spans[i] as Span).end;
      for (;;) {
        const next = j + 1 < spans.length ? (spans[j + 1] as Span).start : input.length;
        if (nlFrom === -1 || b < nlFrom || b > nl) {
          nl = input.indexOf('\n', b);
          if (nl === -1) nl = input.length;
          nlFrom = b;
        }
        b = nl < next ? nl : next;
        if (b < next || j + 1 >= spans.length) break;
        j++;
        b = (spans[j] as Span).end;
      }
      // Without invisible chars the window is its own normalized text, and its triggers are
      // those starting outside its placeholders (triggers are ASCII and hold no newline).
      if (invisible || hasTriggerBetween(input, a, b, spans, i, j)) {
        const found = detectOnce(sequential(windowText(input, a, b, spans, i, j))).spans;
        for (const s of found) {
          const delta = windowDelta(spans, i, a, s.start);
          added.push({ start: s.start + delta, end: s.end + delta, kind: s.kind });
        }
      }
      i = j + 1;
    }
    if (added.length === 0) break;
    spans = [...spans, ...added].sort((x, y) => x.start - y.start);
  }
  return { spans, invisible };
}

// Window offset of each placeholder of the last window built (spans i…j ↦ 0…j-i).
let placeholderAt = new Int32Array(64);

/** Input [a, b) with spans i…j (all inside it) replaced by ROUND_PLACEHOLDER; fills `placeholderAt`. */
function windowText(input: string, a: number, b: number, spans: readonly Span[], i: number, j: number): string {
  if (placeholderAt.length < j - i + 1) placeholderAt = new Int32Array(2 * (j - i + 1));
  let text = '';
  let len = 0;
  let last = a;
  for (let k = i; k <= j; k++) {
    const s = spans[k] as Span;
    text = text + input.slice(last, s.start) + ROUND_PLACEHOLDER;
    len += s.start - last;
    placeholderAt[k - i] = len;
    len += ROUND_PLACEHOLDER.length;
    last = s.end;
  }
  placeholderCount = j - i + 1;
  return text + input.slice(last, b);
}
let placeholderCount = 0;

/** input offset − window offset for window offset `pos` (outside every placeholder) of the last window built. */
function windowDelta(spans: readonly Span[], i: number, a: number, pos: number): number {
  const L = ROUND_PLACEHOLDER.length;
  let lo = 0;
  let hi = placeholderCount;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((placeholderAt[mid] as number) + L <= pos) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return a;
  return (spans[i + lo - 1] as Span).end - ((placeholderAt[lo - 1] as number) + L);
}

/**
 * Whether the window [a, b) of `input` with spans i…j as placeholders has a trigger
 * starting outside them: `hasTrigger` on the substituted window, read in `input`.
 */
function hasTriggerBetween(input: string, a: number, b: number, spans: readonly Span[], i: number, j: number): boolean {
  let from = a;
  for (let k = i; k <= j + 1; k++) {
    const to = k <= j ? (spans[k] as Span).start : b;
    // A segment before a placeholder: what follows it there is `⟦`, outside Latin-1.
    if (hasTriggerIn(INDEX, input, from, to, k <= j)) return true;
    if (k <= j) from = (spans[k] as Span).end;
  }
  return false;
}

export function hasAnySecret(input: string): boolean {
  return collect(normalize(input).text, true).length > 0;
}

export interface RenderedFinding {
  start: number;
  end: number;
  type: string;
  value: string;
  placeholder: string;
}

/** Whether input[a, a + len) and input[b, b + len) hold the same chars (a char loop: no builtin call per span). */
function sameRange(input: string, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (input.charCodeAt(a + i) !== input.charCodeAt(b + i)) return false;
  return true;
}

const INVISIBLE_G = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

/** Replaces spans with `⟦secret:N:kind⟧`, N counted per distinct secret value in order of appearance. */
export function render(input: string, detection: Detection, withFindings: boolean): { text: string; findings: RenderedFinding[] } {
  const { spans, invisible: strip } = detection;
  const findings: RenderedFinding[] = [];
  if (spans.length === 0) return { text: input, findings };
  // Per distinct value: its number and the last placeholder built for it (kinds rarely differ).
  const numbers = new Map<string, { n: number; kind: string; placeholder: string }>();
  let text = '';
  let last = 0;
  // Runs of one value (a message stuffed with one key) reuse the previous value and entry:
  // no slice and no map lookup per span.
  let prevValue = '';
  let prevStart = 0;
  let prevEntry: { n: number; kind: string; placeholder: string } | undefined;
  // An indexed loop: `for…of` allocates an iterator result per span until the loop is optimized.
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k] as Span;
    let value: string;
    let entry: { n: number; kind: string; placeholder: string } | undefined;
    let key = '';
    const known = s.value;
    if (known !== undefined) {
      // A propagated occurrence carries its value (checked char by char when found).
      if (prevEntry !== undefined && known === prevValue) {
        value = prevValue;
        entry = prevEntry;
      } else {
        value = known;
        key = strip ? value.replace(INVISIBLE_G, '') : value;
        entry = numbers.get(key);
      }
    } else if (prevEntry !== undefined && s.end - s.start === prevValue.length && sameRange(input, prevStart, s.start, prevValue.length)) {
      value = prevValue;
      entry = prevEntry;
    } else {
      value = input.slice(s.start, s.end);
      key = strip ? value.replace(INVISIBLE_G, '') : value;
      entry = numbers.get(key);
    }
    if (entry === undefined) {
      const n = numbers.size + 1;
      entry = { n, kind: s.kind, placeholder: `⟦secret:${n}:${s.kind}⟧` };
      numbers.set(key, entry);
    } else if (entry.kind !== s.kind) {
      entry.kind = s.kind;
      entry.placeholder = `⟦secret:${entry.n}:${s.kind}⟧`;
    }
    prevValue = value;
    prevStart = s.start;
    prevEntry = entry;
    const placeholder = entry.placeholder;
    text = text + input.slice(last, s.start) + placeholder;
    last = s.end;
    if (withFindings) findings.push({ start: s.start, end: s.end, type: s.kind, value, placeholder });
  }
  text += input.slice(last);
  return { text, findings };
}
