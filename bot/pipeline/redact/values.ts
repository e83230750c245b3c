/**
 * Value heuristics shared by the detectors: what a placeholder looks like, what a
 * random credential looks like, and the look-alikes (hashes, ids, paths) that are not
 * secrets. Keeping them in one place keeps every family equally strict.
 */
import { shannonEntropy } from './entropy.ts';

const PLACEHOLDER_WORDS = new Set([
  'changeme', 'change_me', 'change-me', 'changeit', 'password', 'passwd', 'pass', 'pwd',
  'secret', 'secrets', 'token', 'apikey', 'api_key', 'api-key', 'key', 'example', 'sample',
  'dummy', 'placeholder', 'redacted', 'removed', 'hidden', 'masked', 'null', 'nil', 'none',
  'undefined', 'true', 'false', 'yes', 'no', 'on', 'off', 'empty', 'todo', 'tbd', 'fixme',
  'test', 'testing', 'string', 'str', 'int', 'bool', 'boolean', 'number', 'any', 'unknown',
  'object', 'bytes', 'required', 'optional', 'notset', 'not_set', 'unset', 'default', 'foo',
  'bar', 'baz', 'foobar', 'value', 'xxx', 'n/a', 'na', 'tba', 'sensitive', 'omitted', 'secretstr',
  'secretvalue', 'mysecret', 'mypassword', 'mytoken',
]);

/** Words that follow "password:" or "token:" in prose rather than a value. */
const PROSE_WORDS = new Set([
  'expired', 'invalid', 'missing', 'revoked', 'rotated', 'reset', 'updated', 'changed',
  'valid', 'wrong', 'incorrect', 'set', 'present', 'ok', 'okay', 'please', 'here', 'below',
  'above', 'attached', 'same', 'rejected', 'denied', 'accepted', 'works', 'failed', 'used',
  'stored', 'saved', 'sent', 'leaked', 'issue', 'problem', 'error', 'prompt', 'manager',
  'protected', 'encrypted', 'generated', 'refresh', 'rotation', 'policy', 'strength',
]);

const SAME_CHAR = /^(.)\1*$/s;
const MASK = /^[*x•.#_\-?]+$/i;
// `$VAR`, `{{ x }}`, `#{x}`, `<x>`, `[x]`, YAML tags (`!Ref`, `!GetAtt`), `@Function(`, and whole printf or
// Windows references (`%s`, `%(name)s`, `%APPDATA%`): a value merely starting with `%` is a value.
const TEMPLATED = /^(?:\$|%(?:\w+%|\(\w+\)[a-z]|[-+ 0#]*\d*(?:\.\d+)?[a-zA-Z])$|\{\{|#\{|<[^>]*>$|\[[^\]]*\]$|![A-Za-z][A-Za-z.:]{1,23}$|@\w+\()/;
const YOUR_X = /^(?:your|my|the|some|insert|enter|put|add|replace)[-_ .]?\w*(?:key|token|secret|password|pass|pwd|here|value|creds?|credentials?)$/i;
const EXAMPLE = /EXAMPLE(?:KEY)?$|^(?:fake|dummy|test|sample|example)[-_]/i;
const ELLIPSIS = /\.\.\.|…/;
const FILL_ME = /^(?:replace|change|fill|set|update|insert|enter|edit)[-_ ]?(?:me|this|it)(?:[-_ ]?(?:in|later|now|here))?$/i;

/**
 * A copy of `s` that does not keep the string it was sliced from alive. V8 represents a
 * slice of 13+ chars as a view into its parent, so caching a slice of a 1 MB message
 * would pin the whole message in memory for as long as the cache entry lives.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

// isPlaceholderValue is pure and messages repeat values (`Password=a;` ×90k), so answers
// are cached; bounded, and cleared when full so a stream of distinct values stays cheap.
const placeholderCache = new Map<string, boolean>();
const PLACEHOLDER_CACHE_MAX = 4096;

export function isPlaceholderValue(raw: string): boolean {
  // Long values are rarely repeated and cost more to hash; only short ones are cached.
  if (raw.length > 64) return isPlaceholderValueUncached(raw);
  let r = placeholderCache.get(raw);
  if (r === undefined) {
    r = isPlaceholderValueUncached(raw);
    if (placeholderCache.size >= PLACEHOLDER_CACHE_MAX) placeholderCache.clear();
    placeholderCache.set(detach(raw), r);
  }
  return r;
}

function isPlaceholderValueUncached(raw: string): boolean {
  const v = raw.trim();
  if (v.length === 0) return true;
  if (SAME_CHAR.test(v) || MASK.test(v)) return true;
  if (TEMPLATED.test(v) || YOUR_X.test(v) || EXAMPLE.test(v) || ELLIPSIS.test(v) || FILL_ME.test(v)) return true;
  const lower = v.toLowerCase();
  if (PLACEHOLDER_WORDS.has(lower)) return true;
  if (/^(?:redacted|masked|hidden|removed)$|\bredacted\b|^\*{2,}/i.test(v)) return true;
  return false;
}

export function isProseWord(v: string): boolean {
  return PROSE_WORDS.has(v.toLowerCase());
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID.test(v);

const HEX = /^[0-9a-f]+$/i;
export const isHex = (v: string): boolean => HEX.test(v);

/** git SHA-1, SHA-256 and friends: hex of a digest length, the classic false alarm. */
export function isDigestLike(v: string): boolean {
  const n = v.length;
  return isHex(v) && (n === 7 || n === 40 || n === 64 || n === 128);
}

const PATH = /^(?:~|\.{1,2})?\/?[\w.@+-]+(?:\/[\w.@+-]*)+$|^\/[\w.@+-]+$/;
const WIN_PATH = /^[A-Za-z]:\\/;

function randomSegment(seg: string): boolean {
  const c = charClasses(seg);
  return (seg.length >= 8 && c.upper && c.lower) || (seg.length >= 12 && c.digit && (c.upper || c.lower) && !/^[a-z0-9._-]+$/.test(seg));
}

/** `/var/lib/x`, `./a/b`, `uploads/2024/05/report.pdf`, `C:\\x` — but not base64 that happens to hold `/`. */
export function isPathLike(v: string): boolean {
  if (WIN_PATH.test(v)) return true;
  if (!PATH.test(v)) return false;
  return !v.split('/').some(randomSegment);
}

const DOTTED_IDENT = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*){1,5}$/;
/** `config.password`, `settings.db.token`: code references, not literals. */
export function isCodeReference(v: string): boolean {
  return DOTTED_IDENT.test(v) && !/\d/.test(v);
}

export interface CharClasses {
  lower: boolean;
  upper: boolean;
  digit: boolean;
  other: boolean;
}

export function charClasses(v: string): CharClasses {
  const c: CharClasses = { lower: false, upper: false, digit: false, other: false };
  for (let i = 0; i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch >= 97 && ch <= 122) c.lower = true;
    else if (ch >= 65 && ch <= 90) c.upper = true;
    else if (ch >= 48 && ch <= 57) c.digit = true;
    else c.other = true;
  }
  return c;
}

/** A generated credential rather than a word, id, version, digest or path. */
export function looksRandom(v: string, minLen = 16): boolean {
  if (v.length < minLen || v.length > 1024) return false;
  if (isUuid(v) || isDigestLike(v) || isPathLike(v) || isPlaceholderValue(v)) return false;
  if (/^\d+$/.test(v) || /^v?\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?$/.test(v)) return false;
  if (v.includes('://')) return false;
  const h = shannonEntropy(v);
  if (isHex(v)) return v.length >= 32 && h >= 3.0;
  const c = charClasses(v);
  const letters = c.lower || c.upper;
  if (h < 3.3) return false;
  if (c.digit && letters) return true;
  return c.upper && c.lower && v.length >= 24 && h >= 3.8;
}

const fakeTokenCache = new Map<string, boolean>();

/** Vendor token bodies made of one repeated char or a tiny alphabet (`sk_live_xxxx…`). */
export function looksFakeToken(body: string): boolean {
  if (body.length < 8) return false;
  // Pure, and a message stuffed with one key id asks about the same body over and over.
  if (body.length > 64) return looksFakeTokenUncached(body);
  let r = fakeTokenCache.get(body);
  if (r === undefined) {
    r = looksFakeTokenUncached(body);
    if (fakeTokenCache.size >= PLACEHOLDER_CACHE_MAX) fakeTokenCache.clear();
    fakeTokenCache.set(detach(body), r);
  }
  return r;
}

function looksFakeTokenUncached(body: string): boolean {
  if (SAME_CHAR.test(body) || /EXAMPLE/.test(body)) return true;
  return shannonEntropy(body) < 2.5;
}
