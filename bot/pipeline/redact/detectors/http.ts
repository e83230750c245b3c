/**
 * Credentials in transport syntax: Authorization headers, curl `-u`, and passwords inside
 * URLs and connection strings. For URLs only the password is replaced, so
 * `postgres://app:⟦secret:1:postgres_url_password⟧@db:5432/app` still reads as a URL.
 */
import { allocSlot, PRIORITY, regexRule, type Detector, type ScanContext } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { charClasses, isCodeReference, isPlaceholderValue, looksRandom } from '../values.ts';
import { isJsSpace, MATCH, matchAuthorization, matchUrlPassword } from './http-matchers.ts';

/** Opaque header credentials must look generated: "Bearer tokens are great" is prose. */
function credentialShape(v: string): boolean {
  // Pure tests: the cheap shape test first, the placeholder lookup only for what passes it.
  const c = charClasses(v);
  if (!(c.digit && (c.lower || c.upper)) && !looksRandom(v, 16)) return false;
  return !isPlaceholderValue(v);
}

function decodesToUserPass(v: string): boolean {
  const s = Buffer.from(v, 'base64').toString('latin1');
  return /^[\x20-\x7e]{1,256}:[\x20-\x7e]{1,256}$/.test(s) && !s.startsWith(':') && !isPlaceholderValue(s.slice(s.indexOf(':') + 1));
}

const URL_KIND: readonly [RegExp, string][] = [
  [/^(?:jdbc:)?(?:postgres|postgresql|pg|pgsql|cockroachdb)(?:\+|$)/, 'postgres_url_password'],
  [/^(?:mysql|mariadb|mysqlx)(?:\+|$)|^mysql\+/, 'mysql_url_password'],
  [/^mongodb(?:\+srv)?$/, 'mongodb_url_password'],
  [/^rediss?$|^redis\+/, 'redis_url_password'],
  [/^amqps?$/, 'amqp_url_password'],
  [/^(?:mssql|sqlserver)$/, 'mssql_url_password'],
  [/^(?:s?ftps?)$/, 'ftp_url_password'],
  [/^(?:\w+\+)?https?$|^wss?$/, 'http_url_password'],
];

function urlKind(scheme: string): string {
  const s = scheme.toLowerCase();
  for (const [re, kind] of URL_KIND) if (re.test(s)) return kind;
  return 'url_password';
}

// ---- authorization_header and url_password: hand matchers (http-matchers.ts) -------------

/** Whether text[a, a + len) and text[b, b + len) hold the same chars. */
function sameChars(text: string, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

const AUTH_SKIP = allocSlot(-1);
// The last value judged (start, length; -1: none), whether under `Basic`, and the verdict:
// accept is pure, and dense text asks about the same value over and over.
const AUTH_LAST_START = allocSlot(-1);
const AUTH_LAST_LENGTH = allocSlot(0);
const AUTH_LAST_BASIC = allocSlot(0);
const AUTH_LAST_OK = allocSlot(0);
const SCHEME_BEARER = 1;
const SCHEME_BASIC = 2;

function scanAuthorization(ctx: ScanContext, at: number): void {
  const slots = ctx.slots;
  // As regexRule: a trigger inside the previous match's text cannot start a new secret.
  if (at < (slots[AUTH_SKIP] as number)) return;
  const text = ctx.text;
  if (!matchAuthorization(text, at)) return;
  const scheme = MATCH[0] as number;
  const start = MATCH[1] as number;
  const end = MATCH[2] as number;
  slots[AUTH_SKIP] = end;
  const basic = scheme === SCHEME_BASIC ? 1 : 0;
  const prev = slots[AUTH_LAST_START] as number;
  let ok: boolean;
  if (prev !== -1 && slots[AUTH_LAST_BASIC] === basic && slots[AUTH_LAST_LENGTH] === end - start && sameChars(text, prev, start, end - start)) {
    ok = slots[AUTH_LAST_OK] === 1;
  } else {
    const v = text.slice(start, end);
    ok = basic === 1 ? decodesToUserPass(v) : credentialShape(v);
    slots[AUTH_LAST_START] = start;
    slots[AUTH_LAST_LENGTH] = end - start;
    slots[AUTH_LAST_BASIC] = basic;
    slots[AUTH_LAST_OK] = ok ? 1 : 0;
  }
  if (!ok) return;
  const kind = scheme === SCHEME_BEARER ? 'bearer_token' : basic === 1 ? 'basic_auth' : 'authorization_header';
  ctx.emit(start, end, kind, PRIORITY.structured);
}

const authorizationDetector: Detector = {
  id: 'authorization_header',
  kinds: ['authorization_header', 'bearer_token', 'basic_auth'],
  triggers: ['authorization'],
  caseSensitive: false,
  scan: scanAuthorization,
};

const URL_SKIP = allocSlot(-1);
const URL_LAST_START = allocSlot(-1);
const URL_LAST_LENGTH = allocSlot(0);
const URL_LAST_OK = allocSlot(0);
// The last scheme named (start, length; -1: none) and its kind, in `urlLastKind`.
const URL_SCHEME_START = allocSlot(-1);
const URL_SCHEME_LENGTH = allocSlot(0);
let urlLastKind = '';
const SHORT_NUMBER = /^\d{1,5}$/;

function scanUrlPassword(ctx: ScanContext, at: number): void {
  const slots = ctx.slots;
  if (at < (slots[URL_SKIP] as number)) return;
  const text = ctx.text;
  if (!matchUrlPassword(text, at)) return;
  const schemeStart = MATCH[0] as number;
  const start = MATCH[1] as number;
  const end = MATCH[2] as number;
  slots[URL_SKIP] = MATCH[3] as number;
  const prev = slots[URL_LAST_START] as number;
  let ok: boolean;
  if (prev !== -1 && slots[URL_LAST_LENGTH] === end - start && sameChars(text, prev, start, end - start)) {
    ok = slots[URL_LAST_OK] === 1;
  } else {
    const v = text.slice(start, end);
    ok = !isPlaceholderValue(v) && !SHORT_NUMBER.test(v);
    slots[URL_LAST_START] = start;
    slots[URL_LAST_LENGTH] = end - start;
    slots[URL_LAST_OK] = ok ? 1 : 0;
  }
  if (!ok) return;
  const schemeLength = at - schemeStart;
  const prevScheme = slots[URL_SCHEME_START] as number;
  if (prevScheme === -1 || slots[URL_SCHEME_LENGTH] !== schemeLength || !sameChars(text, prevScheme, schemeStart, schemeLength)) {
    urlLastKind = urlKind(text.slice(schemeStart, at));
    slots[URL_SCHEME_START] = schemeStart;
    slots[URL_SCHEME_LENGTH] = schemeLength;
  }
  ctx.emit(start, end, urlLastKind, PRIORITY.url);
}

const urlPasswordDetector: Detector = {
  id: 'url_password',
  kinds: [...new Set(URL_KIND.map(([, k]) => k)), 'url_password'],
  triggers: ['://'],
  caseSensitive: false,
  scan: scanUrlPassword,
};

// ---- connection_string_password -------------------------------------------------------
// Equivalent of the sticky regex (kept for reference; the scan below is a hand-written
// matcher with the same result, since texts dense with `Password=a;` made the regex, its
// named groups and match objects the cost of the whole message):
//   /(?<![A-Za-z0-9_\-.])(?:password|pwd)[ \t]{0,4}=[ \t]{0,4}(?:\{(?<s1>[^}\r\n]{1,256})\}|'(?<s2>[^'\r\n]{1,256})'
//    |"(?<s3>[^"\r\n]{1,256})"|(?<s4>[^;\s"'{=](?:[^;\r\n"'=]{0,254}[^;\s"'=])?)(?=[ \t]*(?:;|["'\r\n]|$)))/i
// The secret is s1…s3 (quoted: the match ends one char after it) or s4 (the match ends with it).

const isBlankTab = (c: number): boolean => c === 32 || c === 9;

function isConnLeadWordChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46;
}

/** Lookahead `(?=[ \t]*(?:;|["'\r\n]|$))` at `q`. */
function connTerminatorAt(text: string, q: number): boolean {
  const n = text.length;
  while (q < n && isBlankTab(text.charCodeAt(q))) q++;
  if (q === n) return true;
  const c = text.charCodeAt(q);
  return c === 59 || c === 34 || c === 39 || c === 13 || c === 10;
}

/** Closing `close` after a run of 1…256 chars outside {close, \r, \n} from `from`: its index, or -1. */
function connQuotedClose(text: string, from: number, close: number): number {
  const n = text.length;
  let i = from;
  while (i < n && i - from < 256) {
    const c = text.charCodeAt(i);
    if (c === close || c === 13 || c === 10) break;
    i++;
  }
  return i > from && i < n && text.charCodeAt(i) === close ? i : -1;
}

const CONN_NEXT_PAIR = /^[ \t]*;[ \t]*[A-Za-z][A-Za-z ]{0,30}=/;
const CONN_PREV_PAIR = /[A-Za-z][A-Za-z ]{0,30}=[^;\r\n]{0,256};[ \t]*$/;
const CONN_KIND = 'connection_string_password';
const CONN_SKIP = allocSlot(-1);

// The last value judged on its own (start, length; -1: none), whether bare, and whether
// it was refused (placeholder or code reference): pure in the value, which repeats in dense text.
const CONN_LAST_START = allocSlot(-1);
const CONN_LAST_LENGTH = allocSlot(0);
const CONN_LAST_BARE = allocSlot(0);
const CONN_LAST_REFUSED = allocSlot(0);

function connValueRefused(ctx: ScanContext, start: number, end: number, bare: boolean): boolean {
  const text = ctx.text;
  const slots = ctx.slots;
  const prev = slots[CONN_LAST_START] as number;
  const b = bare ? 1 : 0;
  if (prev !== -1 && slots[CONN_LAST_BARE] === b && slots[CONN_LAST_LENGTH] === end - start && sameChars(text, prev, start, end - start)) {
    return slots[CONN_LAST_REFUSED] === 1;
  }
  const v = text.slice(start, end);
  const refused = isPlaceholderValue(v) || (bare && isCodeReference(v));
  slots[CONN_LAST_START] = start;
  slots[CONN_LAST_LENGTH] = end - start;
  slots[CONN_LAST_BARE] = b;
  slots[CONN_LAST_REFUSED] = refused ? 1 : 0;
  return refused;
}

/** Connection-string shape: another `Name=value;` pair right before or right after the match. */
function connShape(matchStart: number, matchEnd: number, text: string): boolean {
  if (CONN_NEXT_PAIR.test(text.slice(matchEnd, matchEnd + 40))) return true;
  return CONN_PREV_PAIR.test(text.slice(Math.max(0, matchStart - 300), matchStart));
}

function scanConnectionString(ctx: ScanContext, at: number): void {
  // As regexRule: a trigger inside the previous match's text cannot start a new secret.
  if (at < (ctx.slots[CONN_SKIP] as number)) return;
  const text = ctx.text;
  const n = text.length;
  if (at > 0 && isConnLeadWordChar(text.charCodeAt(at - 1))) return;
  // The scan runs only where a trigger starts, `password` or `pwd` in any case (the
  // detector contract): the second char tells which, so the word is not read again.
  let i = (text.charCodeAt(at + 1) | 0x20) === 97 ? at + 8 : at + 3;
  for (let k = 0; k < 4 && i < n && isBlankTab(text.charCodeAt(i)); k++) i++;
  if (i >= n || text.charCodeAt(i) !== 61) return;
  i++;
  for (let k = 0; k < 4 && i < n && isBlankTab(text.charCodeAt(i)); k++) i++;
  if (i >= n) return;
  const c = text.charCodeAt(i);
  let start: number;
  let end: number;
  let matchEnd: number;
  let bare = false;
  if (c === 123 || c === 39 || c === 34) {
    const close = connQuotedClose(text, i + 1, c === 123 ? 125 : c);
    if (close === -1) return;
    start = i + 1;
    end = close;
    matchEnd = close + 1;
  } else {
    if (c === 59 || c === 61 || isJsSpace(c)) return;
    // s4: the first char, then a run of chars outside [;\r\n"'=] (at most 255), whose
    // last char must be outside [;\s"'=] and be followed by `[ \t]*` and a terminator.
    // Inside the run only blanks can precede a terminator, so the lookahead holds at an
    // end q iff the run is blank from q on and holds at the run's end; the longest such
    // q wins (or the first char alone, when the whole rest of the run is blank).
    let run = i + 1;
    while (run < n && run - i <= 255) {
      const d = text.charCodeAt(run);
      if (d === 59 || d === 13 || d === 10 || d === 34 || d === 39 || d === 61) break;
      run++;
    }
    if (!connTerminatorAt(text, run)) return;
    let t = run;
    while (t > i + 1 && isBlankTab(text.charCodeAt(t - 1))) t--;
    if (t > i + 1 && isJsSpace(text.charCodeAt(t - 1))) return;
    end = t;
    start = i;
    matchEnd = end;
    bare = true;
  }
  ctx.slots[CONN_SKIP] = matchEnd;
  if (connValueRefused(ctx, start, end, bare) || !connShape(at, matchEnd, text)) return;
  ctx.emit(start, end, CONN_KIND, PRIORITY.url);
}

const connectionStringDetector: Detector = {
  id: CONN_KIND,
  kinds: [CONN_KIND],
  triggers: ['password', 'pwd'],
  caseSensitive: false,
  scan: scanConnectionString,
};

export const httpDetectors: readonly Detector[] = [
  authorizationDetector,
  regexRule({
    id: 'bearer_token',
    kinds: ['bearer_token'],
    triggers: ['bearer'],
    tail: () => 0,
    re: /(?<![A-Za-z])bearer[ \t]{1,4}(?<s>[A-Za-z0-9\-._~+/]{8,4096}=*)(?![A-Za-z0-9\-._~+/=])/i,
    priority: PRIORITY.structured,
    accept: credentialShape,
  }),
  regexRule({
    id: 'basic_auth',
    kinds: ['basic_auth'],
    triggers: ['basic'],
    tail: () => 0,
    re: /(?<![A-Za-z])basic[ \t]{1,4}(?<s>[A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])/i,
    priority: PRIORITY.structured,
    accept: decodesToUserPass,
  }),
  contextRule({
    id: 'curl_user',
    kinds: ['basic_auth'],
    triggers: ['curl', 'wget', 'http '],
    lead: /(?<![\w-])(?:curl|wget|http)\b/,
    window: 800,
    maxValue: 400,
    sameLine: false,
    value: /(?<=\s)(?:-u|--user|--auth|-a)(?:[ \t]+|=)?["']?[^\s:'"]{1,128}:(?<s>[^\s'"]{1,256})/,
    priority: PRIORITY.structured,
    accept: (v) => !isPlaceholderValue(v),
  }),
  urlPasswordDetector,
  contextRule({
    id: 'jdbc_password',
    kinds: ['jdbc_password'],
    triggers: ['jdbc:'],
    lead: /jdbc:[a-z0-9]{2,20}:/i,
    window: 512,
    maxValue: 300,
    value: /(?<=[?&;:])(?:password|pwd)=(?<s>[^&;\s"'<>]{1,256})/i,
    priority: PRIORITY.url,
    accept: (v) => !isPlaceholderValue(v),
  }),
  regexRule({
    id: 'jdbc_oracle_password',
    kinds: ['jdbc_password'],
    triggers: ['jdbc:oracle:'],
    re: /jdbc:oracle:(?:thin|oci):[^\s/@:"']{1,64}\/(?<s>[^\s@"']{1,128})@/i,
    priority: PRIORITY.url,
    accept: (v) => !isPlaceholderValue(v),
  }),
  // ADO.NET / ODBC: `Server=…;User Id=…;Password=…;` — values may contain spaces up to `;`.
  connectionStringDetector,
];
