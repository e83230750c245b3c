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

interface KindLine {
  pos: number;
  indent: number;
  secret: boolean;
}

interface Layout {
  kinds: KindLine[];
  positions: number[];
  docBreaks: number[];
}

function layout(ctx: ScanContext): Layout {
  const cached = ctx.memo.get('k8s:layout') as Layout | undefined;
  if (cached !== undefined) return cached;
  const text = ctx.text;
  const kinds: KindLine[] = [];
  const re = /^([ \t]*(?:-[ \t]+)?)kind:[ \t]*["']?([A-Za-z]+)|"kind"[ \t]*:[ \t]*"([A-Za-z]+)"/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const json = m[3] !== undefined;
    kinds.push({ pos: m.index, indent: json ? -1 : (m[1] as string).length, secret: (json ? m[3] : m[2]) === 'Secret' });
  }
  const docBreaks: number[] = [];
  const doc = /^---/gm;
  for (let m = doc.exec(text); m !== null; m = doc.exec(text)) docBreaks.push(m.index);
  const l = { kinds, positions: kinds.map((k) => k.pos), docBreaks };
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

/** Whether no `---` document break lies between positions `p` and `at`. */
function sameDoc(docBreaks: readonly number[], p: number, at: number): boolean {
  const a = p < at ? p : at;
  const b = p < at ? at : p;
  const j = lowerBound(docBreaks, a + 1);
  return j >= docBreaks.length || (docBreaks[j] as number) > b;
}

function fits(k: KindLine | undefined, at: number, want: number, json: boolean, docBreaks: readonly number[]): k is KindLine {
  return k !== undefined && Math.abs(k.pos - at) <= 4000 && sameDoc(docBreaks, k.pos, at) && (json || k.indent === want);
}

function ownerIsSecret(ctx: ScanContext, at: number, indent: number, json: boolean): boolean {
  const { kinds, positions, docBreaks } = layout(ctx);
  if (kinds.length === 0) return false;
  const want = json ? -1 : indent;
  const i = lowerBound(positions, at);
  let before: KindLine | undefined;
  for (let j = i - 1; j >= 0 && j >= i - 8; j--) if (fits(kinds[j], at, want, json, docBreaks)) { before = kinds[j]; break; }
  let after: KindLine | undefined;
  for (let j = i; j < kinds.length && j < i + 8; j++) if (fits(kinds[j], at, want, json, docBreaks)) { after = kinds[j]; break; }
  if (json) return (after ?? before)?.secret ?? false;
  if (before !== undefined && after !== undefined) {
    const dash = `\n${' '.repeat(Math.max(0, indent - 2))}- `;
    return ctx.text.slice(before.pos, at).includes(dash) ? after.secret : before.secret;
  }
  return (before ?? after)?.secret ?? false;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
// The value group ends the match, so its start is computed from lengths (no `d` flag).
const YAML_ENTRY = /([ \t]+)(?:[A-Za-z0-9._-]+|"[^"\n]{1,253}"|'[^'\n]{1,253}'):[ \t]*(?<v>[^\r\n]*)/y;
const BLOCK_INDICATOR = /^[|>][-+]?\d?$/;
const QUOTED = /^["'].*["']$/;

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
    YAML_ENTRY.lastIndex = pos;
    const m = YAML_ENTRY.exec(text);
    if (m === null || (m[1] as string).length <= indent || m.index !== pos) return;
    const entryIndent = (m[1] as string).length;
    const raw = m.groups?.['v'] ?? '';
    let v = raw.trimEnd();
    const c0 = v.charCodeAt(0);
    if ((c0 === 124 || c0 === 62) && BLOCK_INDICATOR.test(v)) {
      pos = emitBlockScalar(ctx, lineEnd + 1, entryIndent);
      continue;
    }
    let vStart = m.index + m[0].length - raw.length;
    if ((c0 === 34 || c0 === 39) && QUOTED.test(v) && v.length >= 2) {
      v = v.slice(1, -1);
      vStart += 1;
    }
    const ok = stringData ? v.length > 0 && !isPlaceholderValue(v) : v.length >= 4 && B64.test(v);
    if (ok) ctx.emit(vStart, vStart + v.length, KIND, PRIORITY.structured);
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
