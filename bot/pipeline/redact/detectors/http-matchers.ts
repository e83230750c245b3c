/**
 * Hand-written equivalents of the two transport regexes that dense input runs at every
 * trigger (`://x:y@` ×90k, `authorization=` ×70k): a sticky regex with named groups
 * allocates a match object, a groups object and the group strings per call, which made
 * these rules cost 15–18 ms per 1 MB. These read chars only and report positions in
 * `MATCH`. Each is checked against its regex (kept below as the reference) by property
 * tests in test/unit/redact-matchers.test.ts.
 */

/** Result slots of the last successful match (positions into the text). */
export const MATCH = new Int32Array(4);

/** JS `\s` (what `\s` matches in a non-unicode regex). */
export function isJsSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isBlank = (c: number): boolean => c === 32 || c === 9;

// ---- url_password ------------------------------------------------------------------------
// Reference (sticky at the `://` trigger):
//   /(?<=(?<![A-Za-z0-9+.-])(?<scheme>[A-Za-z][A-Za-z0-9+.-]{0,24})):\/\/[^\s:/?#@"'<>[\]]{0,128}:(?<s>[^\s/?#"'<>]{1,256})@
//    (?<h>[A-Za-z0-9.\-_%]{1,255}|\[[0-9a-fA-F:.]{2,64}\])(?=[:/?#\s"'<>),;\]}]|$)/
// Why each part has at most one way to match:
// - scheme: the lookbehind needs a non-scheme char before it, so the scheme is the whole
//   run of [A-Za-z0-9+.-] before `://`: 1…25 chars, the first a letter.
// - user: `:` is outside its class, so it is the maximal run (≤ 128) and `:` must follow.
// - s holds `@` and `:`, so it is the longest s (1…256 chars of its run) followed by `@`
//   and a host; the host's class and the lookahead's set are disjoint, so a host is the
//   maximal run (≤ 255) of host chars (or `[` ip `]`) followed by the lookahead.

const isSchemeChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 43 || c === 46 || c === 45;

function isUserChar(c: number): boolean {
  // [^\s:/?#@"'<>[\]]
  return !(c === 58 || c === 47 || c === 63 || c === 35 || c === 64 || c === 34 || c === 39 || c === 60 || c === 62 || c === 91 || c === 93 || isJsSpace(c));
}

function isUrlSecretChar(c: number): boolean {
  // [^\s/?#"'<>]
  return !(c === 47 || c === 63 || c === 35 || c === 34 || c === 39 || c === 60 || c === 62 || isJsSpace(c));
}

const isHostChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 46 || c === 45 || c === 95 || c === 37;
const isIpChar = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 58 || c === 46;

/** `(?=[:/?#\s"'<>),;\]}]|$)` at `i`. */
function hostFollowOk(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text.charCodeAt(i);
  return c === 58 || c === 47 || c === 63 || c === 35 || c === 34 || c === 39 || c === 60 || c === 62 ||
    c === 41 || c === 44 || c === 59 || c === 93 || c === 125 || isJsSpace(c);
}

/** End of the host (with its lookahead) starting at `h`, or -1. */
function hostEnd(text: string, h: number): number {
  const n = text.length;
  let i = h;
  while (i < n && i - h <= 255 && isHostChar(text.charCodeAt(i))) i++;
  if (i > h) return i - h <= 255 && hostFollowOk(text, i) ? i : -1;
  if (h >= n || text.charCodeAt(h) !== 91) return -1;
  i = h + 1;
  while (i < n && i - h - 1 <= 64 && isIpChar(text.charCodeAt(i))) i++;
  const len = i - h - 1;
  if (len < 2 || len > 64 || i >= n || text.charCodeAt(i) !== 93) return -1;
  return hostFollowOk(text, i + 1) ? i + 1 : -1;
}

/**
 * The url_password regex at `at` (where `://` starts). On a match returns true and sets
 * MATCH = [scheme start, s start, s end (the `@`), match end]; `at` is the scheme's end.
 */
export function matchUrlPassword(text: string, at: number): boolean {
  const n = text.length;
  if (at + 3 > n || text.charCodeAt(at) !== 58 || text.charCodeAt(at + 1) !== 47 || text.charCodeAt(at + 2) !== 47) return false;
  let b = at;
  while (b > 0 && at - b <= 25 && isSchemeChar(text.charCodeAt(b - 1))) b--;
  if (b === at || at - b > 25 || (b > 0 && isSchemeChar(text.charCodeAt(b - 1))) || !isLetter(text.charCodeAt(b))) return false;
  let i = at + 3;
  while (i < n && i - at - 3 <= 128 && isUserChar(text.charCodeAt(i))) i++;
  if (i - at - 3 > 128 || i >= n || text.charCodeAt(i) !== 58) return false;
  const s0 = i + 1;
  // The run s may cover, one char past its 256 so a longest `@` at s0 + 256 is seen.
  let e = s0;
  while (e < n && e - s0 <= 256 && isUrlSecretChar(text.charCodeAt(e))) e++;
  for (let p = Math.min(e - 1, s0 + 256); p > s0; p--) {
    if (text.charCodeAt(p) !== 64) continue;
    const end = hostEnd(text, p + 1);
    if (end === -1) continue;
    MATCH[0] = b;
    MATCH[1] = s0;
    MATCH[2] = p;
    MATCH[3] = end;
    return true;
  }
  return false;
}

// ---- authorization_header ----------------------------------------------------------------
// Reference (sticky at the trigger, case-insensitive):
//   /authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:(?<scheme>token|bearer|basic|digest|apikey|sso-key|key|bot)[ \t]{1,4}
//    |key[ \t]{0,2}=[ \t]{0,2})?(?<s>[A-Za-z0-9\-._~+/]{8,4096}={0,2})/i
// Quotes, blanks and the separator have one way to match (a shorter blank run leaves a
// blank where a separator, quote, scheme or value char must be, and none is a blank).
// The optional scheme group is tried alternative by alternative, then skipped; the
// first choice after which s (8+ value chars) starts wins. s is its maximal run (≤ 4096)
// and up to two `=` (outside the run's class).

export const AUTH_SCHEMES = ['token', 'bearer', 'basic', 'digest', 'apikey', 'sso-key', 'key', 'bot'] as const;

/** Lower-cased ASCII `word` at `at` of `text`, any case. */
export function wordAtCi(text: string, at: number, word: string): boolean {
  if (at + word.length > text.length) return false;
  for (let j = 0; j < word.length; j++) {
    const c = text.charCodeAt(at + j);
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== word.charCodeAt(j)) return false;
  }
  return true;
}

const isAuthValueChar = (c: number): boolean =>
  isLetter(c) || isDigit(c) || c === 45 || c === 46 || c === 95 || c === 126 || c === 43 || c === 47;

/** Whether s's 8 chars start at `i` (the rest of s is read only on success). */
function valueStarts(text: string, i: number): boolean {
  if (i + 8 > text.length) return false;
  for (let k = 0; k < 8; k++) if (!isAuthValueChar(text.charCodeAt(i + k))) return false;
  return true;
}

/** Past up to `max` blanks from `i`. */
function blanks(text: string, i: number, max: number): number {
  const n = text.length;
  let j = i;
  while (j < n && j - i < max && isBlank(text.charCodeAt(j))) j++;
  return j;
}

/**
 * The authorization regex at `at`, where `authorization` (any case) starts: the rule's
 * only trigger, so it is not read again. On a match returns true and sets MATCH = [index
 * of the scheme in AUTH_SCHEMES (-1: none), s start, s end]; the match ends where s ends.
 */
export function matchAuthorization(text: string, at: number): boolean {
  const n = text.length;
  let i = at + 13;
  if (i < n && (text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39)) i++;
  i = blanks(text, i, 4);
  if (i >= n || (text.charCodeAt(i) !== 58 && text.charCodeAt(i) !== 61)) return false;
  i = blanks(text, i + 1, 4);
  if (i < n && (text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39)) i++;
  let scheme = -1;
  let s = -1;
  const c = i < n ? text.charCodeAt(i) | 0x20 : 0;
  // Only the first letters of the schemes (t, b, d, a, s, k) can start one.
  if (c === 116 || c === 98 || c === 100 || c === 97 || c === 115 || c === 107) {
    for (let k = 0; k < AUTH_SCHEMES.length && s === -1; k++) {
      const w = AUTH_SCHEMES[k] as string;
      if (!wordAtCi(text, i, w)) continue;
      const j = blanks(text, i + w.length, 4);
      if (j > i + w.length && valueStarts(text, j)) {
        scheme = k;
        s = j;
      }
    }
    if (s === -1 && wordAtCi(text, i, 'key')) {
      let j = blanks(text, i + 3, 2);
      if (j < n && text.charCodeAt(j) === 61) {
        j = blanks(text, j + 1, 2);
        if (valueStarts(text, j)) s = j;
      }
    }
  }
  if (s === -1) {
    if (!valueStarts(text, i)) return false;
    s = i;
  }
  let e = s + 8;
  while (e < n && e - s < 4096 && isAuthValueChar(text.charCodeAt(e))) e++;
  if (e < n && text.charCodeAt(e) === 61) e++;
  if (e < n && text.charCodeAt(e) === 61) e++;
  MATCH[0] = scheme;
  MATCH[1] = s;
  MATCH[2] = e;
  return true;
}
