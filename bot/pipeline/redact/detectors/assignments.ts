/**
 * Keyword assignments — `DB_PASSWORD=…`, `"client_secret": "…"`, `token = "…"`, `apiKey: …` —
 * in env files, shell, YAML, JSON, HCL and code. The key must END in a secret word
 * (`password_reset_url`, `token_ttl`, `secretName` do not), the value must be a
 * literal (not `$VAR`, `config.password`, `getToken()`), and not a placeholder.
 */
import { PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import { keywordMatcher } from '../keyword.ts';
import {
  isCodeReference, isPathLike, isPlaceholderValue, isProseWord, isUuid, looksRandom,
} from '../values.ts';

/** Longest first, so `password` wins over `pass`. */
const KEYWORDS = [
  'private_key', 'private-key', 'credentials', 'access_key', 'access-key', 'passphrase', 'privatekey', 'credential',
  'accesskey', 'passwords', 'password', 'api_key', 'api-key', 'passwd', 'secret', 'apikey', 'token', 'pass', 'auth', 'pwd', 'key',
];
const keywordAt = keywordMatcher(KEYWORDS);

function isValueChar(c: number): boolean {
  // ASCII printable except space " ' ` , ; ( ) { } [ ] < > & |
  return c > 32 && c < 127 && c !== 34 && c !== 39 && c !== 96 && c !== 44 && c !== 59 && c !== 40 && c !== 41 &&
    c !== 123 && c !== 125 && c !== 91 && c !== 93 && c !== 60 && c !== 62 && c !== 38 && c !== 124;
}

const MAX_UNQUOTED = 256;
const MAX_QUOTED = 512;

interface Value {
  start: number;
  end: number;
  quoted: boolean;
}

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

/** Parses the value after a separator: "…" (with escapes), '…', \"…\", `…`, or a bare word. */
function parseValue(text: string, at: number): Value | null {
  const n = text.length;
  const c = text.charCodeAt(at);
  if (c === 34 || c === 39 || c === 96) {
    const close = closeOf(text, c, at + 1, c === 34);
    return close > at + 1 ? { start: at + 1, end: close, quoted: true } : null;
  }
  if (c === 92 && text.charCodeAt(at + 1) === 34) {
    const close = text.indexOf('\\"', at + 2);
    if (close <= at + 2 || close - at > MAX_QUOTED || /[\r\n]/.test(text.slice(at + 2, close))) return null;
    return { start: at + 2, end: close, quoted: true };
  }
  let i = at;
  while (i < n && i - at <= MAX_UNQUOTED && isValueChar(text.charCodeAt(i))) i++;
  if (i === at || i - at > MAX_UNQUOTED) return null;
  const next = text.charCodeAt(i);
  // `getToken(`, `os.environ[`: a call or index expression, not a literal.
  if (next === 40 || next === 91 || next === 123) return null;
  return { start: at, end: i, quoted: false };
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
    if (byKw.size < 512) byKw.set(suffix, ok);
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

/** Shared by assignments and CLI flags: is `v` a literal credential for a key of class `cls`? */
export function acceptLiteral(cls: KeywordClass, kw: string, v: string, quoted: boolean): boolean {
  if (v.length < 4 || v.length > 512) return false;
  if (isPlaceholderValue(v) || isPathLike(v) || v.includes('://')) return false;
  if (/^\d+$/.test(v) && v.length < (cls === 'password' ? 6 : 12)) return false;
  if (!quoted && isCodeReference(v)) return false;
  const k = kw.toLowerCase();
  if (k === 'key' || k === 'auth') return looksRandom(v, 16) || (isUuid(v) && k === 'auth');
  if (/^[A-Za-z_-]+$/.test(v) && /password|passwd|secret|token/i.test(v)) return false;
  if (cls === 'api_key' && v.length < 8) return false;
  return true;
}

const isSeparator = (c: number): boolean => c === 58 /* : */ || c === 61 /* = */ || c === 0xff1a || c === 0xff1d;

/**
 * Cheap look-ahead before the regex: a key (identifier chars), an optional quote,
 * spaces, then a separator. Most keyword hits in chat ("the token expired") stop here.
 */
export function separatorFollows(text: string, at: number): boolean {
  const n = Math.min(text.length, at + 48);
  let i = at;
  while (i < n && isIdentChar(text.charCodeAt(i))) i++;
  let c = text.charCodeAt(i);
  if (c === 92) c = text.charCodeAt(++i);
  if (c === 34 || c === 39) c = text.charCodeAt(++i);
  for (let k = 0; k < 4 && (c === 32 || c === 9); k++) c = text.charCodeAt(++i);
  return isSeparator(c);
}

function scanAssignment(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  if (at < ((ctx.memo.get('assignment:skip') as number | undefined) ?? -1)) return;
  const kw = keywordAt(text, at);
  // STRONG is case-insensitive, so the lower-case keyword stands for the text.
  if (kw === null || !keywordBoundaryOk(text, at, kw)) return;
  let i = at + kw.length;
  const suffixStart = i;
  while (i < text.length && i - suffixStart < 32 && isIdentChar(text.charCodeAt(i))) i++;
  const suffixEnd = i;
  // Separator first: it rejects prose ("the token expired") with char tests alone.
  if (text.charCodeAt(i) === 92) i++;
  if (text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39) i++;
  for (let k = 0; k < 4 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const c = text.charCodeAt(i);
  if (c === 58 && text.charCodeAt(i + 1) === 61) i += 2; // :=
  else if (c === 61 && text.charCodeAt(i + 1) === 62) i += 2; // =>
  else if (c === 58 || c === 61 || c === 0xff1a || c === 0xff1d) i += 1;
  else return;
  if (!suffixAllowed(kw, text.slice(suffixStart, suffixEnd))) return;
  const after = text.charCodeAt(i);
  if (after === 61 || after === 62) return; // == or =>, a comparison
  for (let k = 0; k < 4 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  if (hasNonSecretPrefix(identifierPrefix(text, at))) return;
  const value = parseValue(text, i);
  if (value === null) {
    // A bare run longer than any value: later keywords inside it fail the same way.
    if (isValueChar(text.charCodeAt(i))) ctx.memo.set('assignment:skip', i + MAX_UNQUOTED);
    return;
  }
  ctx.memo.set('assignment:skip', value.end);
  const start = value.start;
  let end = value.end;
  if (!value.quoted) {
    while (end > start && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 58)) end--;
    // acceptLiteral rejects these lengths first; checking here saves the prose test.
    if (end - start < 4 || end - start > 512) return;
    // "password: reset it please" is prose, not a credential.
    if (allLetters(text, start, end) && (isProseWord(text.slice(start, end)) || (isBlank(text.charCodeAt(end)) && isLetter(text.charCodeAt(end + 1))))) return;
  }
  const v = text.slice(start, end);
  const cls = keywordClass(kw);
  if (!acceptLiteral(cls, kw, v, value.quoted)) return;
  ctx.emit(start, end, cls, PRIORITY.assignment);
}

export const assignmentDetector: Detector = {
  id: 'assignment',
  kinds: ['password', 'secret', 'token', 'api_key', 'private_key', 'credential'],
  triggers: [
    'password', 'passwd', 'passphrase', 'pass', 'pwd', 'secret', 'token', 'api_key', 'api-key', 'apikey',
    'access_key', 'access-key', 'accesskey', 'private_key', 'private-key', 'privatekey', 'credential', 'auth', 'key',
  ],
  caseSensitive: false,
  scan: scanAssignment,
};
