/**
 * Last line of defence: a random-looking word (entropy, mixed character classes; not hex,
 * a digest, UUID, version, URL or path) among the few words after a secret-ish keyword
 * in prose — "here's the staging api key 8fK2…". `KEY=value` forms are left to the
 * assignment rule, which knows which key names are not secrets. Counting words rather
 * than chars keeps the rule stable when an earlier word is already a placeholder.
 */
import { PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import { isHex, looksRandom } from '../values.ts';
import { keywordBoundaryOk, separatorFollows } from './assignments.ts';
import { keywordMatcher } from '../keyword.ts';

const KIND = 'generic_high_entropy_secret';
const WORDS_AFTER = 4;
const MIN_LEN = 20;
const KEYWORDS = ['credential', 'password', 'passwd', 'secret', 'token', 'auth', 'key', 'pwd'];
const keywordAt = keywordMatcher(KEYWORDS);
const CANDIDATE = /[A-Za-z0-9+/_\-.~]{20,512}={0,2}/g;

function isCandidateChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 95 || c === 45 || c === 46 || c === 126;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** The keyword as written must be lower, UPPER or Capitalized: `kEY` inside base64 is noise. */
function plainCase(text: string, from: number, to: number): boolean {
  let upper = 0;
  for (let i = from + 1; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
  }
  return upper === 0 || upper === to - from - 1;
}

function emitCandidates(ctx: ScanContext, start: number, end: number): void {
  const word = ctx.text.slice(start, end);
  if (word.includes('://')) return;
  CANDIDATE.lastIndex = 0;
  for (let c = CANDIDATE.exec(word); c !== null; c = CANDIDATE.exec(word)) {
    const trimmed = c[0].replace(/^[.~\-_/]+/, '');
    const v = trimmed.replace(/[.~\-_]+$/, '');
    if (isHex(v) || !looksRandom(v, MIN_LEN)) continue;
    const s = start + c.index + (c[0].length - trimmed.length);
    ctx.emit(s, s + v.length, KIND, PRIORITY.generic);
  }
}

function scanGeneric(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  const n = text.length;
  const kw = keywordAt(text, at);
  if (kw === null) return;
  let i = at + kw.length;
  if (text.charCodeAt(i) === 115 || text.charCodeAt(i) === 83) i++;
  const next = text.charCodeAt(i);
  if ((next >= 65 && next <= 90) || (next >= 97 && next <= 122) || (next >= 48 && next <= 57)) return;
  if (!plainCase(text, at, i) || !keywordBoundaryOk(text, at, kw) || separatorFollows(text, at)) return;
  // Words up to the frontier were read for an earlier keyword; resume there.
  const frontier = (ctx.memo.get('generic:frontier') as number | undefined) ?? 0;
  if (i < frontier) i = frontier;
  for (let w = 0; w < WORDS_AFTER && i < n; w++) {
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    const c0 = text.charCodeAt(i);
    if (i >= n || c0 === 10 || c0 === 13) break;
    const start = i;
    let run = 0;
    let longest = 0;
    while (i < n && i - start < 600) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) break;
      run = isCandidateChar(c) ? run + 1 : 0;
      if (run > longest) longest = run;
      i++;
    }
    if (longest >= MIN_LEN) emitCandidates(ctx, start, i);
  }
  ctx.memo.set('generic:frontier', i);
}

export const genericDetector: Detector = {
  id: KIND,
  kinds: [KIND],
  triggers: KEYWORDS,
  caseSensitive: false,
  scan: scanGeneric,
};
