/**
 * Keyword assignments — `DB_PASSWORD=…`, `"client_secret": "…"`, `token = "…"`, `apiKey: …` —
 * in env files, shell, YAML, JSON, HCL and code. The key must END in a secret word
 * (`password_reset_url`, `token_ttl`, `secretName` do not), the value must be a
 * literal (not `$VAR`, `config.password`, `getToken()`), and not a placeholder.
 */
import { allocSlot, PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import { keywordFinder, secretAtLineEnd } from '../keyword.ts';
import {
  detach, isCodeReference, isPathLike, isPlaceholderValue, isProseWord, isUuid, looksRandom,
} from '../values.ts';

/** Longest first, so `password` wins over `pass`. */
const KEYWORDS = [
  'private_key', 'private-key', 'credentials', 'access_key', 'access-key', 'passphrase', 'privatekey', 'credential',
  'accesskey', 'passwords', 'password', 'api_key', 'api-key', 'app_key', 'app-key', 'passwd', 'secret', 'apikey', 'appkey', 'token',
  'pass', 'auth', 'pwd', 'key',
];
const keywordAt = keywordFinder(KEYWORDS);

// ASCII printable except space " ' ` , ; ( ) { } [ ] < > & |
const VALUE_CHAR = new Uint8Array(128);
for (let c = 33; c < 127; c++) VALUE_CHAR[c] = '"\'`,;(){}[]<>&|'.includes(String.fromCharCode(c)) ? 0 : 1;

function isValueChar(c: number): boolean {
  return c < 128 && VALUE_CHAR[c] === 1;
}

const MAX_UNQUOTED = 256;

const QUERY_PARAM = /[A-Za-z_][\w.\-[\]]{0,64}=/y;

/**
 * `&` inside a bare value belongs to it (`Summer75&okjp517`) unless it ends it: `&&`
 * or `&` before a space or the end (shell), or `&name=` (the next query parameter).
 */
function ampersandInValue(text: string, i: number): boolean {
  if (text.charCodeAt(i) !== 38) return false;
  const next = text.charCodeAt(i + 1);
  if (!(next > 32 && next < 127) || next === 38) return false;
  QUERY_PARAM.lastIndex = i + 1;
  return !QUERY_PARAM.test(text);
}

/** A run of VALUE_CHAR chars, as a sticky regex (built from the table, so the same set). */
const VALUE_RUN = new RegExp(
  `[${Array.from(VALUE_CHAR.keys()).filter((c) => VALUE_CHAR[c] === 1).map((c) => `\\x${c.toString(16).padStart(2, '0')}`).join('')}]*`,
  'y',
);

/**
 * End of the run of bare-value chars from `from`. The first MAX_UNQUOTED + 1 chars by a
 * char loop (short runs are the usual case); past that, in runs of VALUE_RUN, which reads
 * a long run (`password=password=…` over a whole message) about twice as fast.
 */
function bareRunEnd(text: string, from: number): number {
  const n = text.length;
  let i = from;
  const limit = Math.min(n, from + MAX_UNQUOTED + 1);
  while (i < limit && (isValueChar(text.charCodeAt(i)) || ampersandInValue(text, i))) i++;
  if (i < limit) return i;
  for (;;) {
    VALUE_RUN.lastIndex = i;
    VALUE_RUN.test(text);
    i = VALUE_RUN.lastIndex;
    if (i >= n || !ampersandInValue(text, i)) return i;
    i++;
  }
}
/** Farthest a value can start from its keyword: keyword, suffix, quote and separator. */
const KEY_REACH = 64;
const MAX_QUOTED = 512;

/** Where the last value parsed by `parseValue` starts, and whether it was quoted (no object per value). */
let valueStart = 0;
let valueQuoted = false;

/** Index of the closing quote `q` at or after `from` on the same line, or -1. */
function closeOf(text: string, q: number, from: number, escapes: boolean): number {
  const n = text.length;
  for (let i = from; i < n && i - from <= MAX_QUOTED; i++) {
    const d = text.charCodeAt(i);
    if (d === 10 || d === 13) return -1;
    if (escapes && d === 92) {
      i++;
      continue;
    }
    if (d === q) return i;
  }
  return -1;
}

/**
 * Parses the value after a separator: "…" (with escapes), '…', \"…\", `…`, or a bare word.
 * Returns where the value ends (-1: none) and sets `valueStart` and `valueQuoted`.
 */
function parseValue(text: string, at: number): number {
  const n = text.length;
  const c = text.charCodeAt(at);
  if (c === 34 || c === 39 || c === 96) {
    const close = closeOf(text, c, at + 1, c === 34);
    if (close <= at + 1) return -1;
    valueStart = at + 1;
    valueQuoted = true;
    return close;
  }
  if (c === 92 && text.charCodeAt(at + 1) === 34) {
    const close = text.indexOf('\\"', at + 2);
    if (close <= at + 2 || close - at > MAX_QUOTED || /[\r\n]/.test(text.slice(at + 2, close))) return -1;
    valueStart = at + 2;
    valueQuoted = true;
    return close;
  }
  let i = at;
  while (i < n && i - at <= MAX_UNQUOTED && (isValueChar(text.charCodeAt(i)) || ampersandInValue(text, i))) i++;
  if (i === at || i - at > MAX_UNQUOTED) return -1;
  const next = text.charCodeAt(i);
  // `getToken(`, `os.environ[`: a call or index expression, not a literal.
  if (next === 40 || next === 91 || next === 123) return -1;
  valueStart = at;
  valueQuoted = false;
  return i;
}

type KeywordClass = 'password' | 'secret' | 'token' | 'api_key' | 'private_key' | 'credential';

const classCache = new Map<string, KeywordClass>();

export function keywordClass(kw: string): KeywordClass {
  let cls = classCache.get(kw);
  if (cls === undefined) {
    cls = classify(kw);
    if (classCache.size < 256) classCache.set(kw, cls);
  }
  return cls;
}

function classify(kw: string): KeywordClass {
  const k = kw.toLowerCase().replace(/[_-]/g, '');
  if (k.startsWith('pass') || k === 'pwd') return 'password';
  if (k === 'secret') return 'secret';
  if (k === 'token' || k === 'auth') return 'token';
  if (k === 'privatekey') return 'private_key';
  if (k.startsWith('credential')) return 'credential';
  return 'api_key';
}

/** Keywords that are also ordinary word endings (`bypass`, `monkey`) need a boundary or camelCase. */
const STRONG = /^(?:passwords?|passwd|passphrase|secret|token)$/i;

const ALLOWED_SUFFIX = new Set([
  '', 's', 'key', 'keys', 'keybase', 'base', 'value', 'val', 'secret', 'token', 'accesskey', 'str',
  'string', 'plain', 'plaintext', 'raw', 'hash', 'b64', 'base64', 'enc', 'encoded', 'data', 'prod',
  'production', 'dev', 'staging', 'live', 'test', 'main', 'primary', 'secondary', 'old', 'new',
]);

const NOT_SECRET_PREFIX =
  /(?:^|[_\-.])(?:max|min|num|total|prompt|completion|cache|public|publishable|pub|next|page|continuation|cursor|sync|idempotency|request|trace|span|correlation|primary|foreign|sort|partition|range|hash|s3|object|routing|label|i18n|translation|message|event|ssh|gpg)$/i;

/** `max_tokens`, `STRIPE_PUBLISHABLE_KEY`, `pageToken`: the words before the keyword say it is no secret. */
export function hasNonSecretPrefix(prefix: string): boolean {
  if (prefix.length < 2) return false;
  const words = prefix.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[_\-.]+$/, '');
  return NOT_SECRET_PREFIX.test(words);
}

/**
 * (first char, length) of every suffix `suffixAllowedUncached` can accept once `_-.` are
 * dropped and case folded: ALLOWED_SUFFIX, one or two digits, `id`. A suffix of another
 * shape is refused without slicing it or comparing it with the last one judged.
 */
const SUFFIX_SHAPE = new Uint8Array(128 * 33);
for (const w of [...ALLOWED_SUFFIX, 'id', '0', '00']) {
  if (w === '') continue;
  const firsts = /^\d/.test(w) ? '0123456789' : (w[0] as string);
  for (const f of firsts) SUFFIX_SHAPE[f.charCodeAt(0) * 33 + w.length] = 1;
}

const suffixCache = new Map<string, Map<string, boolean>>();

/** Whether `kw` + `suffix` still names a secret (`password_hash`, `secret2`, not `authorization`). Memoized: keys repeat. */
export function suffixAllowed(kw: string, suffix: string): boolean {
  if (suffix === '') return true;
  let byKw = suffixCache.get(kw);
  if (byKw === undefined) {
    if (suffixCache.size >= 64) return suffixAllowedUncached(kw, suffix);
    byKw = new Map();
    suffixCache.set(kw, byKw);
  }
  let ok = byKw.get(suffix);
  if (ok === undefined) {
    ok = suffixAllowedUncached(kw, suffix);
    if (byKw.size < 512) byKw.set(detach(suffix), ok);
  }
  return ok;
}

function suffixAllowedUncached(kw: string, suffix: string): boolean {
  const s = suffix.toLowerCase().replace(/[_\-.]/g, '');
  if (ALLOWED_SUFFIX.has(s) || /^\d{1,2}$/.test(s)) return true;
  return s === 'id' && keywordClass(kw) === 'secret';
}

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isBlank = (c: number): boolean => c === 32 || c === 9;

function allLetters(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (!isLetter(text.charCodeAt(i))) return false;
  return true;
}

function isLetterOrDigit(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

export function keywordBoundaryOk(text: string, at: number, kw: string): boolean {
  if (at === 0) return true;
  const prev = text.charCodeAt(at - 1);
  if (!isLetterOrDigit(prev)) return true;
  if (STRONG.test(kw)) return true;
  const first = text.charCodeAt(at);
  return prev >= 97 && prev <= 122 && first >= 65 && first <= 90;
}

function isIdentChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46;
}

export function identifierPrefix(text: string, at: number): string {
  let i = at;
  while (i > 0 && at - i < 40 && isIdentChar(text.charCodeAt(i - 1))) i--;
  return text.slice(i, at);
}

/** Tokens public by design: Mapbox `pk.`, Stripe publishable keys. */
const PUBLIC_TOKEN = /^(?:pk\.eyJ|pk_(?:live|test)_)/;

/** Shared by assignments and CLI flags: is `v` a literal credential for a key of class `cls`? */
export function acceptLiteral(cls: KeywordClass, kw: string, v: string, quoted: boolean): boolean {
  if (v.length < 4 || v.length > 512) return false;
  if (isPlaceholderValue(v) || isPathLike(v) || v.includes('://') || PUBLIC_TOKEN.test(v)) return false;
  if (/^\d+$/.test(v) && v.length < (cls === 'password' ? 6 : 12)) return false;
  if (!quoted && isCodeReference(v)) return false;
  const k = kw.toLowerCase();
  if (k === 'key' || k === 'auth') return looksRandom(v, 16) || (isUuid(v) && k === 'auth');
  if (/^[A-Za-z_-]+$/.test(v) && /password|passwd|secret|token/i.test(v)) return false;
  if (cls === 'api_key' && v.length < 8) return false;
  return true;
}

/** Blanks allowed around a separator: aligned columns. */
const MAX_ALIGN = 40;

const ARN_BEFORE = /arn:aws[\w-]{0,16}:[\w-]{1,64}:[\w-]{0,32}:\d{0,12}:$/;

/** `arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123`: a resource name, not a value. */
function isArnResource(text: string, at: number): boolean {
  if (at === 0 || text.charCodeAt(at - 1) !== 58) return false;
  return ARN_BEFORE.test(text.slice(Math.max(0, at - 160), at));
}

const isSeparator = (c: number): boolean => c === 58 /* : */ || c === 61 /* = */ || c === 0xff1a || c === 0xff1d;

/**
 * Cheap look-ahead before the regex: a key (identifier chars), an optional quote,
 * spaces, then a separator. Most keyword hits in chat ("the token expired") stop here.
 */
export function separatorFollows(text: string, at: number, known = 0): boolean {
  const n = Math.min(text.length, at + 48);
  // The first `known` chars are known to be identifier chars (a keyword the caller matched).
  let i = at + known;
  while (i < n && isIdentChar(text.charCodeAt(i))) i++;
  let c = text.charCodeAt(i);
  if (c === 92) c = text.charCodeAt(++i);
  if (c === 34 || c === 39) c = text.charCodeAt(++i);
  for (let k = 0; k < MAX_ALIGN && (c === 32 || c === 9); k++) c = text.charCodeAt(++i);
  return isSeparator(c);
}

const SKIP = allocSlot(-1);
// The last suffix judged in this scan (start, length; -1: none) and the verdict, with
// its keyword: dense text repeats one key (`authorization=…` ×70k), this skips the slice.
const SUFFIX_START = allocSlot(-1);
const SUFFIX_LENGTH = allocSlot(0);
const SUFFIX_OK = allocSlot(0);
let suffixKeyword = '';

function suffixAllowedAt(ctx: ScanContext, kw: string, start: number, end: number): boolean {
  if (end === start) return true;
  const text = ctx.text;
  const slots = ctx.slots;
  const prev = slots[SUFFIX_START] as number;
  const len = end - start;
  if (prev !== -1 && kw === suffixKeyword && slots[SUFFIX_LENGTH] === len) {
    let same = true;
    for (let k = 0; k < len; k++) {
      if (text.charCodeAt(prev + k) !== text.charCodeAt(start + k)) {
        same = false;
        break;
      }
    }
    if (same) return slots[SUFFIX_OK] === 1;
  }
  const ok = suffixAllowed(kw, text.slice(start, end));
  slots[SUFFIX_START] = start;
  slots[SUFFIX_LENGTH] = len;
  slots[SUFFIX_OK] = ok ? 1 : 0;
  suffixKeyword = kw;
  return ok;
}

function scanAssignment(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  if (at < (ctx.slots[SKIP] as number)) return;
  // `Secret` ending its line (`kind: Secret`): the keyword is `secret` (the only one
  // starting with `s`), no suffix or separator follows, so the tests below return.
  if (secretAtLineEnd(text, at)) return;
  const kw = keywordAt(ctx, at);
  // STRONG is case-insensitive, so the lower-case keyword stands for the text.
  if (kw === null) return;
  // keywordBoundaryOk holds at once after a char that is no letter or digit (the usual case).
  if (at > 0 && isLetterOrDigit(text.charCodeAt(at - 1)) && !keywordBoundaryOk(text, at, kw)) return;
  let i = at + kw.length;
  const suffixStart = i;
  // The suffix's first char (case folded) and length without `_-.`, for SUFFIX_SHAPE.
  let first = 0;
  let folded = 0;
  while (i < text.length && i - suffixStart < 32) {
    const d = text.charCodeAt(i);
    if (!isIdentChar(d)) break;
    if (d !== 95 && d !== 45 && d !== 46) {
      if (folded++ === 0) first = d | 0x20;
    }
    i++;
  }
  const suffixEnd = i;
  // Separator first: it rejects prose ("the token expired") with char tests alone.
  if (text.charCodeAt(i) === 92) i++;
  if (text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39) i++;
  // Aligned keys (`terraform fmt`, YAML maps) put many blanks before the separator.
  for (let k = 0; k < MAX_ALIGN && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const c = text.charCodeAt(i);
  if (c === 58 && text.charCodeAt(i + 1) === 61) i += 2; // :=
  else if (c === 61 && text.charCodeAt(i + 1) === 62) i += 2; // =>
  else if (c === 58 || c === 61 || c === 0xff1a || c === 0xff1d) i += 1;
  else return;
  if (folded > 0 && SUFFIX_SHAPE[first * 33 + folded] === 0) return;
  if (suffixEnd > suffixStart && !suffixAllowedAt(ctx, kw, suffixStart, suffixEnd)) return;
  const after = text.charCodeAt(i);
  if (after === 61 || after === 62) return; // == or =>, a comparison
  for (let k = 0; k < MAX_ALIGN && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  // Guards before the calls (dense text reaches here once per keyword, and once the engine
  // has run on varied text these helpers are no longer inlined): a prefix of fewer than
  // two identifier chars names nothing (hasNonSecretPrefix), an ARN part follows a `:`.
  if (at >= 2 && isIdentChar(text.charCodeAt(at - 1)) && isIdentChar(text.charCodeAt(at - 2)) && hasNonSecretPrefix(identifierPrefix(text, at))) return;
  if (at > 0 && text.charCodeAt(at - 1) === 58 && isArnResource(text, at)) return;
  const valueEnd = parseValue(text, i);
  if (valueEnd === -1) {
    // A bare run too long to be a value: a keyword inside it reaches its own value within
    // KEY_REACH chars, and that value runs to the same end, so it is too long as well
    // unless the keyword sits in the run's last MAX_UNQUOTED + KEY_REACH chars.
    const runEnd = bareRunEnd(text, i);
    if (runEnd - i > MAX_UNQUOTED) ctx.slots[SKIP] = runEnd - MAX_UNQUOTED - KEY_REACH;
    return;
  }
  ctx.slots[SKIP] = valueEnd;
  const start = valueStart;
  const quoted = valueQuoted;
  let end = valueEnd;
  if (!quoted) {
    while (end > start && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 58)) end--;
    // acceptLiteral rejects these lengths first; checking here saves the prose test.
    if (end - start < 4 || end - start > 512) return;
    // "password: reset it please" is prose, not a credential.
    if (allLetters(text, start, end) && (isProseWord(text.slice(start, end)) || (isBlank(text.charCodeAt(end)) && isLetter(text.charCodeAt(end + 1))))) return;
  }
  const v = text.slice(start, end);
  const cls = keywordClass(kw);
  if (!acceptLiteral(cls, kw, v, quoted)) return;
  ctx.emit(start, end, cls, PRIORITY.assignment);
}

export const assignmentDetector: Detector = {
  id: 'assignment',
  kinds: ['password', 'secret', 'token', 'api_key', 'private_key', 'credential'],
  triggers: [
    'password', 'passwd', 'passphrase', 'pass', 'pwd', 'secret', 'token', 'api_key', 'api-key', 'apikey',
    'access_key', 'access-key', 'accesskey', 'private_key', 'private-key', 'privatekey', 'credential', 'auth', 'key',
    'app_key', 'app-key', 'appkey',
    // Start where `password` and `credential` do (no new scan position): they make every
    // keyword a path of the trigger trie, which lets the scan read it off the walk.
    'passwords', 'credentials',
  ],
  caseSensitive: false,
  scan: scanAssignment,
};
