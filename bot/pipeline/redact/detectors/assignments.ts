/**
 * Keyword assignments — `DB_PASSWORD=…`, `"client_secret": "…"`, `token = "…"`, `apiKey: …` —
 * in env files, shell, YAML, JSON, HCL and code. The key must END in a secret word
 * (`password_reset_url`, `token_ttl`, `secretName` do not), the value must be a
 * literal (not `$VAR`, `config.password`, `getToken()`), and not a placeholder.
 */
import { PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import { foldCase } from '../fold-case.ts';
import {
  isCodeReference, isPathLike, isPlaceholderValue, isProseWord, isUuid, looksRandom,
} from '../values.ts';

const ASSIGNMENT = foldCase(new RegExp(
  [
    '(?<kw>passwords?|passwd|passphrase|pass|pwd|secret|token|api[_\\-]?key|access[_\\-]?key|private[_\\-]?key|credentials?|auth|key)',
    '(?<suffix>[A-Za-z0-9_.\\-]{0,32})',
    '(?:\\\\?["\'])?[ \\t]{0,4}(?::=|=>|[:=]|\\uFF1A|\\uFF1D)(?![=>])[ \\t]{0,4}',
    '(?:"(?<s1>(?:[^"\\\\\\r\\n]|\\\\.){1,512})"',
    "|'(?<s2>[^'\\r\\n]{1,512})'",
    '|\\\\"(?<s3>[^"\\\\\\r\\n]{1,512})\\\\"',
    '|`(?<s4>[^`\\r\\n]{1,512})`',
    // (?=(…))\k<…> is an atomic group: a value that runs into `(` or past 256 chars fails at once.
    '|(?=(?<s5>[!#$%*+\\-./0-9:=?@A-Z\\\\^_a-z~]{1,256}))\\k<s5>(?![!#$%*+\\-./0-9:=?@A-Z\\\\^_a-z~(\\[{]))',
  ].join(''),
  'iy',
));

type KeywordClass = 'password' | 'secret' | 'token' | 'api_key' | 'private_key' | 'credential';

export function keywordClass(kw: string): KeywordClass {
  const k = kw.toLowerCase().replace(/[_\-]/g, '');
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

export function suffixAllowed(kw: string, suffix: string): boolean {
  if (suffix === '') return true;
  const s = suffix.toLowerCase().replace(/[_\-.]/g, '');
  if (ALLOWED_SUFFIX.has(s) || /^\d{1,2}$/.test(s)) return true;
  return s === 'id' && keywordClass(kw) === 'secret';
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
  if (/^[A-Za-z_\-]+$/.test(v) && /password|passwd|secret|token/i.test(v)) return false;
  if (cls === 'api_key' && v.length < 8) return false;
  return true;
}

const SEP_CODES = new Set([58 /* : */, 61 /* = */, 0xff1a, 0xff1d]);

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
  return SEP_CODES.has(c);
}

function scanAssignment(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  if (!separatorFollows(text, at)) return;
  if (at < ((ctx.memo.get('assignment:skip') as number | undefined) ?? -1)) return;
  ASSIGNMENT.lastIndex = at;
  const m = ASSIGNMENT.exec(text);
  if (m === null) return;
  ctx.memo.set('assignment:skip', m.index + m[0].length);
  const g = m.groups ?? {};
  const kw = g['kw'] ?? '';
  if (!keywordBoundaryOk(text, at, kw) || !suffixAllowed(kw, g['suffix'] ?? '')) return;
  if (hasNonSecretPrefix(identifierPrefix(text, at))) return;
  // Every value form ends the match, followed only by its closing quote (none, 1 or 2 chars).
  const which = (['s1', 's2', 's3', 's4', 's5'] as const).find((n) => g[n] !== undefined);
  if (which === undefined) return;
  const closing = which === 's5' ? 0 : which === 's3' ? 2 : 1;
  let end = m.index + m[0].length - closing;
  const start = end - (g[which] as string).length;
  const quoted = which !== 's5';
  if (!quoted) {
    while (end > start && /[.:]/.test(text[end - 1] as string)) end--;
    const after = text.slice(end, end + 3);
    const v0 = text.slice(start, end);
    // "password: reset it please" is prose, not a credential.
    if (/^[A-Za-z]+$/.test(v0) && (isProseWord(v0) || /^[ \t][A-Za-z]/.test(after))) return;
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
  ],
  caseSensitive: false,
  scan: scanAssignment,
};
