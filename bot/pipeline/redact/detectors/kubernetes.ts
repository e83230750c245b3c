/**
 * Kubernetes Secret manifests (`kubectl get secret -o yaml|json`, hand-written YAML):
 * every value under `data:` (base64) or `stringData:` of an object whose `kind` is
 * Secret. kubectl prints `data` before `kind`, people write it after, and a List mixes
 * items, so the owning `kind:` is the nearest one at the same indentation, preferring
 * the following one when a list item starts in between.
 */
import { PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import { isPlaceholderValue } from '../values.ts';

const KIND = 'k8s_secret_data';
const MAX_ENTRIES = 500;


/** The `kind` lines, `count` triples in `kinds`: start, indent (-1: JSON), 1 if Secret. */
interface Layout {
  kinds: Int32Array;
  count: number;
  docBreaks: number[];
  /** The last lower bound found: keys come in text order, so the next is usually here or one on. */
  hint: number;
}

export interface KindLines {
  kinds: Int32Array;
  count: number;
}

/** A line terminator for `^` under the `m` flag. */
const isLineTerminator = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Whether `word` starts at `at` (a short ASCII literal). */
function literalAt(text: string, at: number, word: string): boolean {
  if (at < 0 || at + word.length > text.length) return false;
  for (let j = 0; j < word.length; j++) if (text.charCodeAt(at + j) !== word.charCodeAt(j)) return false;
  return true;
}

/**
 * The `kind` lines, as the global multiline regex
 *   /^([ \t]*(?:-[ \t]+)?)kind:[ \t]*["']?([A-Za-z]+)|"kind"[ \t]*:[ \t]*"([A-Za-z]+)"/gm
 * finds them (match start, indent, value), read off each `kind` found by `indexOf`:
 * every match holds one at a fixed place, and the scan resumes after each match.
 */
export function findKinds(text: string): KindLines {
  // One flat typed array (three growing arrays cost several times more on dense input).
  let kinds = new Int32Array(48);
  let count = 0;
  const add = (pos: number, indent: number, secret: boolean): void => {
    if (count * 3 + 3 > kinds.length) {
      const grown = new Int32Array(kinds.length * 2);
      grown.set(kinds);
      kinds = grown;
    }
    kinds[count * 3] = pos;
    kinds[count * 3 + 1] = indent;
    kinds[count * 3 + 2] = secret ? 1 : 0;
    count++;
  };
  const n = text.length;
  let lastEnd = 0; // a match never starts inside the previous one
  let q = text.indexOf('kind');
  while (q !== -1) {
    let end = -1;
    if (text.charCodeAt(q + 4) === 58 /* : */) {
      // YAML: the line up to `kind` is blanks, then maybe `-` and blanks.
      let ls = q;
      while (ls > 0 && isBlank(text.charCodeAt(ls - 1))) ls--;
      if (ls > 0 && text.charCodeAt(ls - 1) === 45 && ls < q) {
        ls--;
        while (ls > 0 && isBlank(text.charCodeAt(ls - 1))) ls--;
      }
      if (ls === 0 || isLineTerminator(text.charCodeAt(ls - 1))) {
        let i = q + 5;
        while (i < n && isBlank(text.charCodeAt(i))) i++;
        const c = text.charCodeAt(i);
        if ((c === 34 || c === 39) && isLetter(text.charCodeAt(i + 1))) i++;
        const from = i;
        while (i < n && isLetter(text.charCodeAt(i))) i++;
        if (i > from) {
          add(ls, q - ls, i - from === 6 && literalAt(text, from, 'Secret'));
          end = i;
        }
      }
    } else if (text.charCodeAt(q + 4) === 34 && q > lastEnd && text.charCodeAt(q - 1) === 34) {
      let i = q + 5;
      while (i < n && isBlank(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 58) {
        i++;
        while (i < n && isBlank(text.charCodeAt(i))) i++;
        if (text.charCodeAt(i) === 34) {
          const from = ++i;
          while (i < n && isLetter(text.charCodeAt(i))) i++;
          if (i > from && text.charCodeAt(i) === 34) {
            add(q - 1, -1, i - from === 6 && literalAt(text, from, 'Secret'));
            end = i + 1;
          }
        }
      }
    }
    if (end !== -1) lastEnd = end;
    q = text.indexOf('kind', end === -1 ? q + 1 : end);
  }
  return { kinds, count };
}

/** Starts of lines beginning with `---` (the regex /^---/gm). */
export function findDocBreaks(text: string): number[] {
  const out: number[] = [];
  for (let q = text.indexOf('---'); q !== -1; q = text.indexOf('---', q + 1)) {
    if (q === 0 || isLineTerminator(text.charCodeAt(q - 1))) out.push(q);
  }
  return out;
}

function layout(ctx: ScanContext): Layout {
  const cached = ctx.memo.get('k8s:layout') as Layout | undefined;
  if (cached !== undefined) return cached;
  const { kinds, count } = findKinds(ctx.text);
  const l: Layout = { kinds, count, docBreaks: findDocBreaks(ctx.text), hint: 0 };
  ctx.memo.set('k8s:layout', l);
  return l;
}

function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const isSecretKind = (l: Layout, j: number): boolean => l.kinds[j * 3 + 2] === 1;

/** Whether kind line k is the first starting at or after `v`. */
function isBoundAt(l: Layout, k: number, v: number): boolean {
  return (k === 0 || (l.kinds[(k - 1) * 3] as number) < v) && (k === l.count || (l.kinds[k * 3] as number) >= v);
}

/** First kind line starting at or after `v`. */
function kindLowerBound(l: Layout, v: number): number {
  if (isBoundAt(l, l.hint, v)) return l.hint;
  if (l.hint < l.count && isBoundAt(l, l.hint + 1, v)) return ++l.hint;
  let lo = 0;
  let hi = l.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((l.kinds[mid * 3] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  l.hint = lo;
  return lo;
}

/** Whether no `---` document break lies between positions `p` and `at`. */
function sameDoc(docBreaks: readonly number[], p: number, at: number): boolean {
  const a = p < at ? p : at;
  const b = p < at ? at : p;
  const j = lowerBound(docBreaks, a + 1);
  return j >= docBreaks.length || (docBreaks[j] as number) > b;
}

function fits(l: Layout, j: number, at: number, want: number, json: boolean): boolean {
  const pos = l.kinds[j * 3] as number;
  return Math.abs(pos - at) <= 4000 && sameDoc(l.docBreaks, pos, at) && (json || l.kinds[j * 3 + 1] === want);
}

const dashLines: string[] = [];

/** `\n` + the indent of a list item holding a key at `indent` + `- `. */
function dashLine(indent: number): string {
  let d = dashLines[indent];
  if (d === undefined) {
    d = `\n${' '.repeat(Math.max(0, indent - 2))}- `;
    if (indent < 64) dashLines[indent] = d;
  }
  return d;
}

/** `text.slice(from, to).includes(line)` for a `line` starting with `\n`, without the slice. */
function holdsBetween(text: string, line: string, from: number, to: number): boolean {
  for (let p = text.indexOf('\n', from); p !== -1 && p + line.length <= to; p = text.indexOf('\n', p + 1)) {
    if (text.startsWith(line, p)) return true;
  }
  return false;
}

function ownerIsSecret(ctx: ScanContext, at: number, indent: number, json: boolean): boolean {
  const l = layout(ctx);
  const count = l.count;
  if (count === 0) return false;
  const want = json ? -1 : indent;
  const i = kindLowerBound(l, at);
  let before = -1;
  for (let j = i - 1; j >= 0 && j >= i - 8; j--) {
    if (fits(l, j, at, want, json)) {
      before = j;
      break;
    }
  }
  let after = -1;
  for (let j = i; j < count && j < i + 8; j++) {
    if (fits(l, j, at, want, json)) {
      after = j;
      break;
    }
  }
  if (json) return after !== -1 ? isSecretKind(l, after) : before !== -1 && isSecretKind(l, before);
  if (before !== -1 && after !== -1) {
    const dash = dashLine(indent);
    return holdsBetween(ctx.text, dash, l.kinds[before * 3] as number, at) ? isSecretKind(l, after) : isSecretKind(l, before);
  }
  const k = before !== -1 ? before : after;
  return k !== -1 && isSecretKind(l, k);
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BLOCK_INDICATOR = /^[|>][-+]?\d?$/;

const isBase64Char = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
const isKeyChar = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
const isQuote = (c: number): boolean => c === 34 || c === 39;

/** B64 (`/^[A-Za-z0-9+/]+={0,2}$/`) on text[from, to). */
function isBase64Value(text: string, from: number, to: number): boolean {
  let i = from;
  while (i < to && isBase64Char(text.charCodeAt(i))) i++;
  if (i === from) return false;
  let pad = 0;
  while (i < to && pad < 2 && text.charCodeAt(i) === 61) {
    i++;
    pad++;
  }
  return i === to;
}

/** Whether text[from, to) holds a char `.` does not match (given no `\r`/`\n` there). */
function hasLineSeparator(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

let entryIndentOut = 0;

/** `yamlEntry` as a pure function, for tests: [indent, value start], or null. */
export function matchYamlEntry(text: string, pos: number): [number, number] | null {
  const e = yamlEntry(text, pos);
  return e === -1 ? null : [entryIndentOut, e];
}

/**
 * The sticky regex /([ \t]+)(?:[A-Za-z0-9._-]+|"[^"\n]{1,253}"|'[^'\n]{1,253}'):[ \t]*(?<v>[^\r\n]*)/y
 * at `pos`, by hand: where the value starts, or -1; the indent goes to `entryIndentOut`.
 */
function yamlEntry(text: string, pos: number): number {
  const n = text.length;
  let i = pos;
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  if (i === pos) return -1;
  entryIndentOut = i - pos;
  const c = text.charCodeAt(i);
  if (isQuote(c)) {
    const from = ++i;
    while (i < n && i - from <= 253) {
      const d = text.charCodeAt(i);
      if (d === c || d === 10) break;
      i++;
    }
    if (i === from || i - from > 253 || text.charCodeAt(i) !== c) return -1;
    i++;
  } else {
    const from = i;
    while (i < n && isKeyChar(text.charCodeAt(i))) i++;
    if (i === from) return -1;
  }
  if (text.charCodeAt(i) !== 58) return -1;
  i++;
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** A `key: |` block: every following line indented deeper than the key belongs to the value. Returns where parsing resumes. */
function emitBlockScalar(ctx: ScanContext, from: number, keyIndent: number): number {
  const text = ctx.text;
  let pos = from;
  let first = -1;
  let last = -1;
  let resume = from;
  for (let n = 0; n < MAX_ENTRIES && pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    const line = text.slice(pos, lineEnd);
    if (line.trim() !== '') {
      const ind = line.length - line.trimStart().length;
      if (ind <= keyIndent) break;
      if (first === -1) first = pos + ind;
      last = pos + line.trimEnd().length;
      resume = lineEnd + 1;
    }
    pos = lineEnd + 1;
  }
  if (first !== -1 && last > first) ctx.emit(first, last, KIND, PRIORITY.structured);
  return resume;
}

const isBlank = (c: number): boolean => c === 32 || c === 9;

/** Chars `String.prototype.trim` removes. */
function isTrimSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

function isBlankLine(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isTrimSpace(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Indent of the key at `at`: its line must start with at most 40 chars matching
 * `[ \t]*(?:-[ \t]+)?` (YAML indentation, maybe a list dash). -1 when it does not.
 */
function keyIndent(text: string, at: number): number {
  let lineStart = -1;
  for (let j = at - 1; j >= 0 && j >= at - 41; j--) {
    const c = text.charCodeAt(j);
    if (c === 10) {
      lineStart = j + 1;
      break;
    }
    if (!isBlank(c) && c !== 45) return -1;
  }
  if (lineStart === -1) {
    if (at > 40) return -1;
    lineStart = 0;
  }
  let i = lineStart;
  while (i < at && isBlank(text.charCodeAt(i))) i++;
  if (i < at && text.charCodeAt(i) === 45) {
    i++;
    if (i === at || !isBlank(text.charCodeAt(i))) return -1;
    while (i < at && isBlank(text.charCodeAt(i))) i++;
  }
  return i === at ? at - lineStart : -1;
}

function scanYaml(ctx: ScanContext, at: number, stringData: boolean): void {
  const text = ctx.text;
  const indent = keyIndent(text, at);
  if (indent === -1) return;
  // Nothing but blanks may follow the key on its line.
  let eol = at + (stringData ? 11 : 5);
  while (isBlank(text.charCodeAt(eol))) eol++;
  if (text.charCodeAt(eol) === 13) eol++;
  if (text.charCodeAt(eol) !== 10) return;
  if (!ownerIsSecret(ctx, at, indent, false)) return;
  let pos = eol + 1;
  for (let n = 0; n < MAX_ENTRIES && pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    if (isBlankLine(text, pos, lineEnd)) {
      pos = lineEnd + 1;
      continue;
    }
    const e = yamlEntry(text, pos);
    if (e === -1 || entryIndentOut <= indent) return;
    const entryIndent = entryIndentOut;
    // The value: `e` to the line end (`\r` or `\n`), trailing whitespace trimmed.
    let vEnd = e;
    while (vEnd < text.length) {
      const c = text.charCodeAt(vEnd);
      if (c === 10 || c === 13) break;
      vEnd++;
    }
    while (vEnd > e && isTrimSpace(text.charCodeAt(vEnd - 1))) vEnd--;
    let vStart = e;
    const c0 = vEnd > e ? text.charCodeAt(e) : NaN;
    if ((c0 === 124 || c0 === 62) && BLOCK_INDICATOR.test(text.slice(e, vEnd))) {
      pos = emitBlockScalar(ctx, lineEnd + 1, entryIndent);
      continue;
    }
    if ((c0 === 34 || c0 === 39) && vEnd - e >= 2 && isQuote(text.charCodeAt(vEnd - 1)) && !hasLineSeparator(text, e + 1, vEnd - 1)) {
      vStart++;
      vEnd--;
    }
    const ok = stringData
      ? vEnd > vStart && !isPlaceholderValue(text.slice(vStart, vEnd))
      : vEnd - vStart >= 4 && isBase64Value(text, vStart, vEnd);
    if (ok) ctx.emit(vStart, vEnd, KIND, PRIORITY.structured);
    pos = lineEnd + 1;
  }
}

const JSON_ENTRY = /\s*"(?:[^"\\\n]|\\.){1,253}"\s*:\s*"(?<v>(?:[^"\\\n]|\\.){0,65536})"\s*(?<sep>[,}])/yd;

function scanJson(ctx: ScanContext, at: number, stringData: boolean): void {
  const text = ctx.text;
  const open = /"(?:string)?[dD]ata"\s*:\s*\{/y;
  open.lastIndex = at;
  if (!open.test(text)) return;
  if (!ownerIsSecret(ctx, at, 0, true)) return;
  JSON_ENTRY.lastIndex = open.lastIndex;
  for (let n = 0; n < MAX_ENTRIES; n++) {
    const m = JSON_ENTRY.exec(text);
    if (m === null) return;
    const [s, e] = m.indices?.groups?.['v'] as [number, number];
    const v = text.slice(s, e);
    if (stringData ? v.length > 0 && !isPlaceholderValue(v) : v.length >= 4 && B64.test(v)) {
      ctx.emit(s, e, KIND, PRIORITY.structured);
    }
    if (m.groups?.['sep'] === '}') return;
  }
}

export const kubernetesDetector: Detector = {
  id: KIND,
  kinds: [KIND],
  triggers: ['data:', 'stringData:', '"data"', '"stringData"'],
  caseSensitive: true,
  scan(ctx, at) {
    const c = ctx.text.charCodeAt(at);
    if (c === 34 /* " */) scanJson(ctx, at, ctx.text.startsWith('"stringData"', at));
    else scanYaml(ctx, at, ctx.text.startsWith('stringData:', at));
  },
};
