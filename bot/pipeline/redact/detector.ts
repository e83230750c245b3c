/**
 * Detector contract. The engine scans the text once for literal triggers and calls
 * `scan(ctx, at)` for every position where one of the detector's triggers starts.
 * A detector looks only at a bounded stretch around `at` and reports secret spans
 * with `ctx.emit`; it never scans the whole text, which is what keeps redaction linear.
 * Overlapping spans are merged by the engine, the highest priority naming the kind.
 */
import { foldCase } from './fold-case.ts';
import { looksFakeToken } from './values.ts';

export interface ScanContext {
  readonly text: string;
  /** `value`, when given, is `text.slice(start, end)` held already (render then need not read it). */
  emit(start: number, end: number, kind: string, priority: number, value?: string): void;
  /** Per-call scratch space for detectors that cache a whole-text fact (e.g. next PEM END). */
  readonly memo: Map<string, unknown>;
  /**
   * Per-call numeric state (skip marks, frontiers), one slot per `allocSlot`: an indexed
   * load instead of a string-keyed map lookup on the hottest paths.
   */
  readonly slots: Int32Array;
}

const slotInits: number[] = [];

/** Reserves a numeric state slot, reset to `init` at the start of every scan. */
export function allocSlot(init: number): number {
  slotInits.push(init);
  return slotInits.length - 1;
}

/** Fresh slots for one scan. */
export function freshSlots(): Int32Array {
  const a = new Int32Array(slotInits.length);
  for (let i = 0; i < slotInits.length; i++) a[i] = slotInits[i] as number;
  return a;
}

export interface Detector {
  readonly id: string;
  readonly kinds: readonly string[];
  /** Literal strings of at least two chars; matched ASCII-case-insensitively unless caseSensitive. */
  readonly triggers: readonly string[];
  readonly caseSensitive: boolean;
  scan(ctx: ScanContext, at: number): void;
  /** Called once after the trigger scan, for detectors that batch work across hits. */
  finish?(ctx: ScanContext): void;
}

export const PRIORITY = {
  block: 100,
  token: 90,
  structured: 80,
  url: 70,
  context: 60,
  assignment: 40,
  generic: 10,
} as const;

export interface RegexRuleSpec {
  id: string;
  kinds: readonly string[];
  triggers: readonly string[];
  caseSensitive?: boolean;
  /** Run sticky at the trigger. Secret span = named group `s` (or `s1`, `s2`…), extended back to group `pre`. */
  re: RegExp;
  priority: number;
  kindOf?: (m: RegExpExecArray) => string | null;
  accept?: (value: string, m: RegExpExecArray, text: string) => boolean;
  /**
   * Chars of the match after the secret group (0 when it ends the match). Lets the span
   * be computed from group lengths instead of match indices, which are costly.
   */
  tail?: (m: RegExpExecArray) => number;
}

/** Names of the secret groups (`s`, `s1`, `s2`…) of a match, in `groups` key order; the same for every match of one regex. */
export function secretGroupNames(m: RegExpExecArray): readonly string[] {
  return m.groups === undefined ? [] : Object.keys(m.groups).filter((name) => /^s\d*$/.test(name));
}

function firstSecretGroup(m: RegExpExecArray, names: readonly string[]): string | undefined {
  const g = m.groups;
  if (g === undefined) return undefined;
  for (const name of names) if (g[name] !== undefined) return g[name];
  return undefined;
}

type Indices = Record<string, [number, number] | undefined>;

export function secretSpan(m: RegExpExecArray, names?: readonly string[]): [number, number] | null {
  const groups = (m.indices?.groups ?? undefined) as Indices | undefined;
  if (groups === undefined) return [m.index, m.index + m[0].length];
  let span: [number, number] | null = null;
  let hasSecretGroup = false;
  if (names !== undefined) {
    hasSecretGroup = names.length > 0;
    for (const name of names) {
      const r = groups[name];
      if (r !== undefined) {
        span = [r[0], r[1]];
        break;
      }
    }
  } else {
    for (const name in groups) {
      if (name.charCodeAt(0) !== 115 /* s */ || !/^s\d*$/.test(name)) continue;
      hasSecretGroup = true;
      const r = groups[name];
      if (r !== undefined) {
        span = [r[0], r[1]];
        break;
      }
    }
  }
  if (!hasSecretGroup) span = [m.index, m.index + m[0].length];
  if (span === null) return null;
  const pre = groups['pre'];
  if (pre !== undefined && pre[0] < span[0]) span[0] = pre[0];
  return span;
}

export function regexRule(spec: RegexRuleSpec): Detector {
  // Match indices (`d`) cost ~1 µs per match in V8; only rules that name a span need them.
  const source = spec.re.source;
  const needsIndices = /\(\?<pre>/.test(source) || (spec.tail === undefined && /\(\?<s\d*>/.test(source));
  const re = foldCase(spec.re, needsIndices ? 'yd' : 'y');
  const defaultKind = spec.kinds[0] as string;
  const skipSlot = allocSlot(-1);
  let names: readonly string[] | undefined;
  return {
    id: spec.id,
    kinds: spec.kinds,
    triggers: spec.triggers,
    caseSensitive: spec.caseSensitive ?? false,
    scan(ctx, at) {
      // A trigger inside the previous match's text (`authorization=authorization=…`)
      // cannot start a new secret; skipping it keeps dense adversarial input linear.
      if (at < (ctx.slots[skipSlot] as number)) return;
      re.lastIndex = at;
      const m = re.exec(ctx.text);
      if (m === null) return;
      ctx.slots[skipSlot] = m.index + m[0].length;
      names ??= secretGroupNames(m);
      let span: [number, number] | null;
      if (spec.tail !== undefined && !needsIndices) {
        const end = m.index + m[0].length - spec.tail(m);
        span = [end - (firstSecretGroup(m, names) ?? '').length, end];
      } else span = secretSpan(m, names);
      if (span === null || span[1] <= span[0]) return;
      const value = ctx.text.slice(span[0], span[1]);
      if (spec.accept !== undefined && !spec.accept(value, m, ctx.text)) return;
      const kind = spec.kindOf ? spec.kindOf(m) : defaultKind;
      if (kind !== null) ctx.emit(span[0], span[1], kind, spec.priority);
    },
  };
}

export interface TokenRuleSpec {
  kind: string;
  /** Literal prefixes; each also serves as trigger. */
  prefixes: readonly string[];
  /** Regex source for what follows the prefix. */
  body: string;
  /** Chars that may not follow the token; defaults to base64url word chars. */
  edge?: string;
  /** Chars that may not precede the prefix; defaults to word chars and `-` (not `=`, so `KEY=tok` works). */
  lead?: string;
  priority?: number;
  caseSensitive?: boolean;
  /** Extra check on the part after the prefix. */
  check?: (body: string, whole: string) => boolean;
}

/**
 * Trailing boundary for a token whose alphabet is `edge`. A `.` in the alphabet still
 * lets the token end a sentence ("use ghp_….") as long as no token char follows it.
 */
export function notFollowedBy(edge: string): string {
  if (!edge.includes('.')) return `(?![${edge}])`;
  const rest = edge.replace('.', '');
  return `(?![${rest}]|\\.[${rest}])`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** A regex character class body made only of ASCII literals, ranges and `\\-`: it matches no char ≥ 128. */
const ASCII_CLASS = /^(?:[A-Za-z0-9_+/=%~]-[A-Za-z0-9_+/=%~]|\\-|[A-Za-z0-9_+/=%~])+$/;

function classTable(cls: string): Uint8Array | null {
  if (!ASCII_CLASS.test(cls)) return null;
  const re = new RegExp(`[${cls}]`);
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}

export interface SimpleTokenMatcher {
  /** The lookbehind `(?<![lead])` at the prefix. */
  leadOk(text: string, at: number): boolean;
  /** Where the token ends if a body starts at `from`, or -1. */
  bodyEnd(text: string, from: number): number;
  /** Whether the char at `i` (NaN past the end) is no edge char: after a run of class chars, the run ends there. */
  edgeFreeAt(text: string, i: number): boolean;
}

/**
 * A hand matcher for the common body shape `[class]{m}` / `[class]{m,n}` followed by
 * `(?![edge])`, when every class char is also an edge char: then a run longer than n
 * can never end the token (backtracking leaves a class char next), so the token is a
 * maximal run of m…n class chars not followed by an edge char. Same answers as the
 * regex, without a regex call per trigger. Null for any other shape (the regex serves).
 */
export function simpleTokenMatcher(body: string, edge: string, lead: string): SimpleTokenMatcher | null {
  const shape = /^\[([^\]]+)\]\{(\d+)(?:,(\d+))?\}$/.exec(body);
  if (shape === null || edge.includes('.')) return null;
  const inClass = classTable(shape[1] as string);
  const inEdge = classTable(edge);
  const inLead = classTable(lead);
  if (inClass === null || inEdge === null || inLead === null) return null;
  for (let c = 0; c < 128; c++) if (inClass[c] === 1 && inEdge[c] === 0) return null;
  const min = Number(shape[2]);
  const max = shape[3] === undefined ? min : Number(shape[3]);
  return {
    leadOk(text, at) {
      if (at === 0) return true;
      const c = text.charCodeAt(at - 1);
      return c >= 128 || inLead[c] === 0;
    },
    bodyEnd(text, from) {
      const limit = Math.min(text.length, from + max + 1);
      let i = from;
      while (i < limit) {
        const c = text.charCodeAt(i);
        if (c >= 128 || inClass[c] === 0) break;
        i++;
      }
      if (i - from < min || i - from > max) return -1;
      const next = text.charCodeAt(i);
      return next < 128 && inEdge[next] === 1 ? -1 : i;
    },
    edgeFreeAt(text, i) {
      const c = text.charCodeAt(i);
      return !(c < 128 && inEdge[c] === 1);
    },
  };
}

/** Whether text[a, a + len) and text[b, b + len) hold the same chars. */
function sameChars(text: string, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

/** A vendor token with a fixed literal prefix: the workhorse of the provider families. */
export function tokenRule(spec: TokenRuleSpec): Detector {
  const edge = spec.edge ?? 'A-Za-z0-9_\\-';
  const lead = spec.lead ?? 'A-Za-z0-9_\\-';
  const prefixes = spec.prefixes;
  // With no prefix a prefix of another, the one starting at the trigger is the one the
  // regex matched, so the body is found by length: `test` instead of `exec`, no groups.
  for (const p of prefixes) {
    if (prefixes.some((q) => q !== p && q.startsWith(p))) throw new Error(`prefix ${p} of ${spec.kind} shadows another`);
  }
  const alt = prefixes.map(escapeRe).join('|');
  const re = new RegExp(`(?<![${lead}])(?:${alt})(?:${spec.body})${notFollowedBy(edge)}`, 'y');
  const fast = simpleTokenMatcher(spec.body, edge, lead);
  const priority = spec.priority ?? PRIORITY.token;
  // Per scan: where the last body judged starts (-1: none), its length, which prefix it
  // had, and the verdict. Positions, not strings, so nothing outlives the scan.
  const lastStart = allocSlot(-1);
  const lastLength = allocSlot(0);
  const lastPrefix = allocSlot(-1);
  const lastOk = allocSlot(0);
  // The last accepted token as a string, and the scan it belongs to: passed on with each
  // repeat so render need not compare its chars again. Tied to `ctx`, so a string from
  // another scan is never taken for this one.
  let tokenCtx: ScanContext | null = null;
  let token = '';
  return {
    id: spec.kind,
    kinds: [spec.kind],
    triggers: prefixes,
    caseSensitive: spec.caseSensitive ?? true,
    scan(ctx, at) {
      const text = ctx.text;
      let end: number;
      let p = 0;
      if (fast !== null) {
        p = -1;
        for (let k = 0; k < prefixes.length; k++) {
          if (text.startsWith(prefixes[k] as string, at)) {
            p = k;
            break;
          }
        }
        if (p === -1 || !fast.leadOk(text, at)) return;
        const from = at + (prefixes[p] as string).length;
        // The chars of the last body judged (same prefix) again here, then no edge char:
        // they are class chars, so the run ends there with the same length, and the
        // body and its verdict are the last ones (a message stuffed with one token).
        const prev = ctx.slots[lastStart] as number;
        const len = ctx.slots[lastLength] as number;
        if (prev !== -1 && ctx.slots[lastPrefix] === p && sameChars(text, prev, from, len) && fast.edgeFreeAt(text, from + len)) {
          if (ctx.slots[lastOk] === 1) ctx.emit(at, from + len, spec.kind, priority, tokenCtx === ctx ? token : undefined);
          return;
        }
        end = fast.bodyEnd(text, from);
        if (end === -1) return;
      } else {
        re.lastIndex = at;
        if (!re.test(text)) return;
        end = re.lastIndex;
        if (prefixes.length > 1) {
          for (let k = 0; k < prefixes.length; k++) {
            if (text.startsWith(prefixes[k] as string, at)) {
              p = k;
              break;
            }
          }
        }
      }
      const prefixLength = (prefixes[p] as string).length;
      const bodyStart = at + prefixLength;
      const bodyLength = end - bodyStart;
      // A message stuffed with one token asks about the same body over and over: the
      // previous verdict stands when the same chars are here again (no slice, no lookup).
      const slots = ctx.slots;
      let ok: boolean;
      const prev = slots[lastStart] as number;
      if (prev !== -1 && slots[lastPrefix] === p && slots[lastLength] === bodyLength && sameChars(text, prev, bodyStart, bodyLength)) {
        ok = slots[lastOk] === 1;
      } else {
        const body = text.slice(bodyStart, end);
        ok = !looksFakeToken(body) && (spec.check === undefined || spec.check(body, text.slice(at, end)));
        slots[lastStart] = bodyStart;
        slots[lastLength] = bodyLength;
        slots[lastPrefix] = p;
        slots[lastOk] = ok ? 1 : 0;
        tokenCtx = ok ? ctx : null;
        token = ok ? text.slice(at, end) : '';
      }
      if (ok) ctx.emit(at, end, spec.kind, priority, tokenCtx === ctx ? token : undefined);
    },
  };
}
