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

function ownerIsSecret(ctx: ScanContext, at: number, indent: number, json: boolean): boolean {
  const { kinds, positions, docBreaks } = layout(ctx);
  if (kinds.length === 0) return false;
  const want = json ? -1 : indent;
  const i = lowerBound(positions, at);
  const sameDoc = (p: number) => {
    const [a, b] = p < at ? [p, at] : [at, p];
    const j = lowerBound(docBreaks, a + 1);
    return j >= docBreaks.length || (docBreaks[j] as number) > b;
  };
  const fits = (k: KindLine | undefined): k is KindLine =>
    k !== undefined && Math.abs(k.pos - at) <= 4000 && sameDoc(k.pos) && (json || k.indent === want);
  let before: KindLine | undefined;
  for (let j = i - 1; j >= 0 && j >= i - 8; j--) if (fits(kinds[j])) { before = kinds[j]; break; }
  let after: KindLine | undefined;
  for (let j = i; j < kinds.length && j < i + 8; j++) if (fits(kinds[j])) { after = kinds[j]; break; }
  if (json) return (after ?? before)?.secret ?? false;
  if (before !== undefined && after !== undefined) {
    const dash = `\n${' '.repeat(Math.max(0, indent - 2))}- `;
    return ctx.text.slice(before.pos, at).includes(dash) ? after.secret : before.secret;
  }
  return (before ?? after)?.secret ?? false;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const YAML_ENTRY = /([ \t]+)(?:[A-Za-z0-9._-]+|"[^"\n]{1,253}"|'[^'\n]{1,253}'):[ \t]*(?<v>[^\r\n]*)/yd;

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

function scanYaml(ctx: ScanContext, at: number, stringData: boolean): void {
  const text = ctx.text;
  const head = text.slice(Math.max(0, at - 41), at);
  const nlBefore = head.lastIndexOf('\n');
  if (nlBefore === -1 && at > 40) return;
  const prefix = head.slice(nlBefore + 1);
  if (!/^[ \t]*(?:-[ \t]+)?$/.test(prefix)) return;
  const keyEnd = at + (stringData ? 11 : 5);
  const rest = /[ \t]*\r?\n/y;
  rest.lastIndex = keyEnd;
  if (!rest.test(text)) return;
  const eol = rest.lastIndex - 1;
  const indent = prefix.length;
  if (!ownerIsSecret(ctx, at, indent, false)) return;
  let pos = eol + 1;
  for (let n = 0; n < MAX_ENTRIES && pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    if (text.slice(pos, lineEnd).trim() === '') {
      pos = lineEnd + 1;
      continue;
    }
    YAML_ENTRY.lastIndex = pos;
    const m = YAML_ENTRY.exec(text);
    if (m === null || (m[1] as string).length <= indent || m.index !== pos) return;
    const entryIndent = (m[1] as string).length;
    let v = (m.groups?.['v'] ?? '').trimEnd();
    if (/^[|>][-+]?\d?$/.test(v)) {
      pos = emitBlockScalar(ctx, lineEnd + 1, entryIndent);
      continue;
    }
    let vStart = (m.indices?.groups?.['v'] as [number, number])[0];
    if (/^["'].*["']$/.test(v) && v.length >= 2) {
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
