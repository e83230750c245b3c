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
  emit(start: number, end: number, kind: string, priority: number): void;
  /** Per-call scratch space for detectors that cache a whole-text fact (e.g. next PEM END). */
  readonly memo: Map<string, unknown>;
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
  const skipKey = `skip:${spec.id}`;
  let names: readonly string[] | undefined;
  return {
    id: spec.id,
    kinds: spec.kinds,
    triggers: spec.triggers,
    caseSensitive: spec.caseSensitive ?? false,
    scan(ctx, at) {
      // A trigger inside the previous match's text (`authorization=authorization=…`)
      // cannot start a new secret; skipping it keeps dense adversarial input linear.
      if (at < ((ctx.memo.get(skipKey) as number | undefined) ?? -1)) return;
      re.lastIndex = at;
      const m = re.exec(ctx.text);
      if (m === null) return;
      ctx.memo.set(skipKey, m.index + m[0].length);
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
  return {
    id: spec.kind,
    kinds: [spec.kind],
    triggers: prefixes,
    caseSensitive: spec.caseSensitive ?? true,
    scan(ctx, at) {
      const text = ctx.text;
      re.lastIndex = at;
      if (!re.test(text)) return;
      const end = re.lastIndex;
      let prefixLength = (prefixes[0] as string).length;
      if (prefixes.length > 1) {
        for (const p of prefixes) {
          if (text.startsWith(p, at)) {
            prefixLength = p.length;
            break;
          }
        }
      }
      const body = text.slice(at + prefixLength, end);
      if (looksFakeToken(body)) return;
      if (spec.check !== undefined && !spec.check(body, text.slice(at, end))) return;
      ctx.emit(at, end, spec.kind, spec.priority ?? PRIORITY.token);
    },
  };
}
