/**
 * Last line of defence: a random-looking word (entropy, mixed character classes; not hex,
 * a digest, UUID, version, URL or path) among the few words after a secret-ish keyword
 * in prose — "here's the staging api key 8fK2…". `KEY=value` forms are left to the
 * assignment rule, which knows which key names are not secrets. Counting words rather
 * than chars keeps the rule stable when an earlier word is already a placeholder.
 */
import { allocSlot, PRIORITY, type Detector, type ScanContext } from '../detector.ts';
import {
  charClasses, isDigestLike, isHex, isPathLike, isPlaceholderValue, isUuid, looksRandom,
} from '../values.ts';
import { keywordBoundaryOk, separatorFollows } from './assignments.ts';
import { keywordFinder, secretAtLineEnd } from '../keyword.ts';

const KIND = 'generic_high_entropy_secret';
const WORDS_AFTER = 6;
const MIN_LEN = 20;
const KEYWORDS = ['credential', 'password', 'passwd', 'secret', 'token', 'auth', 'key', 'pwd'];
const keywordAt = keywordFinder(KEYWORDS);
const DIGEST_LABEL = /^["'(]?(?:sha\d{0,3}|md5|blake2[bs]?|xxh\d*|crc32c?)[:-]/i;
/** `1234.dkr.ecr.eu-west-1.amazonaws.com`: dotted lower-case labels ending in a word. */
const HOSTNAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,62})\.){2,}[a-z]{2,24}$/;
const CANDIDATE = /[A-Za-z0-9+/_\-.~]{20,512}={0,2}/g;

function isCandidateChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 95 || c === 45 || c === 46 || c === 126;
}

/** Longest run of candidate chars in text[from, to). */
function longestRun(text: string, from: number, to: number): number {
  let run = 0;
  let longest = 0;
  for (let i = from; i < to; i++) {
    run = isCandidateChar(text.charCodeAt(i)) ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
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
  // URLs, and digests or fingerprints by their label (`SHA256:…`, `sha512-…`).
  if (word.includes('://') || DIGEST_LABEL.test(word)) return;
  CANDIDATE.lastIndex = 0;
  for (let c = CANDIDATE.exec(word); c !== null; c = CANDIDATE.exec(word)) {
    const trimmed = c[0].replace(/^[.~\-_/]+/, '');
    const v = trimmed.replace(/[.~\-_]+$/, '');
    if (isHex(v) || HOSTNAME.test(v) || !looksRandom(v, MIN_LEN)) continue;
    const s = start + c.index + (c[0].length - trimmed.length);
    ctx.emit(s, s + v.length, KIND, PRIORITY.generic);
  }
}

const FRONTIER = allocSlot(0);

const IS_WORDS = ['is', 'was', 'is:', 'is now', 'is now:'];

/**
 * Prose that names a password: "the wifi password is Orbit33$iwhg111". The word after
 * `is` counts when it has letters and digits, 8 to 64 chars, and is no placeholder,
 * path, id or digest: people's passwords rarely look random enough for the entropy rule.
 */
function passwordIs(ctx: ScanContext, from: number): void {
  const text = ctx.text;
  const n = text.length;
  let i = from;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  let matched = -1;
  for (const w of IS_WORDS) {
    let j = 0;
    while (j < w.length && (text.charCodeAt(i + j) | 0x20) === w.charCodeAt(j)) j++;
    if (j === w.length && (text.charCodeAt(i + j) === 32 || text.charCodeAt(i + j) === 9)) matched = i + j;
  }
  if (matched === -1) return;
  i = matched;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  const start = i;
  while (i < n && i - start <= 64 && !isSpace(text.charCodeAt(i))) i++;
  let end = i;
  // Sentence punctuation after the word is not part of it.
  while (end > start && isTrailingPunctuation(text.charCodeAt(end - 1))) end--;
  if (end - start < 8 || end - start > 64 || i - start > 64) return;
  const v = text.slice(start, end);
  const c = charClasses(v);
  if (!c.digit || !(c.lower || c.upper) || v.includes('://') || isPlaceholderValue(v) || isPathLike(v) || isUuid(v) || isDigestLike(v)) return;
  ctx.emit(start, end, 'password', PRIORITY.assignment);
}

/** `.,;:)"'` after the word; not `!` or `?`, which passwords hold often enough to keep. */
function isTrailingPunctuation(c: number): boolean {
  return c === 46 || c === 44 || c === 59 || c === 58 || c === 41 || c === 34 || c === 39;
}

function scanGeneric(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  const n = text.length;
  // Words are read from the frontier on; once it is at the end there is nothing to read
  // and nothing to record (the frontier stays where it is).
  if ((ctx.slots[FRONTIER] as number) >= n) return;
  // `Secret` ending its line (`kind: Secret` in manifests): `secret` is the only keyword
  // starting with `s`, so the tests below would end at the line-end exit; skip them.
  if ((ctx.slots[FRONTIER] as number) <= at + 6 && secretAtLineEnd(text, at)) return;
  // `KEY=value` is the assignment rule's: the cheapest decisive test, so it goes first
  // (every test here is pure, their order changes only the cost).
  // The keyword is read off the trigger walk (no chars read) and is all letters, so the
  // separator test starts after it. No keyword: nothing to do, whatever follows.
  const kw = keywordAt(ctx, at);
  if (kw === null || separatorFollows(text, at, kw.length)) return;
  let i = at + kw.length;
  if (text.charCodeAt(i) === 115 || text.charCodeAt(i) === 83) i++;
  const next = text.charCodeAt(i);
  if ((next >= 65 && next <= 90) || (next >= 97 && next <= 122) || (next >= 48 && next <= 57)) return;
  // `--password-stdin`, `token_file`: the keyword starts a longer name, not a mention.
  if ((next === 45 || next === 95) && isAsciiLetter(text.charCodeAt(i + 1))) return;
  // At a line end with the frontier behind: no word to read, no `is` to follow, and
  // moving the frontier to i would change nothing (later keywords end after i).
  if ((next === 10 || next === 13) && (ctx.slots[FRONTIER] as number) <= i) return;
  if (!plainCase(text, at, i) || !keywordBoundaryOk(text, at, kw)) return;
  if (kw === 'password' || kw === 'passwd' || kw === 'pwd') passwordIs(ctx, i);
  // Words up to the frontier were read for an earlier keyword; resume there.
  const frontier = ctx.slots[FRONTIER] as number;
  if (i < frontier) i = frontier;
  for (let w = 0; w < WORDS_AFTER && i < n; w++) {
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    const c0 = text.charCodeAt(i);
    if (i >= n || c0 === 10 || c0 === 13) break;
    const start = i;
    // isSpace written out: this loop reads every word after a keyword once, the whole
    // text on dense input, and a helper call per char costs more than the test.
    for (; i < n && i - start < 600; i++) {
      const d = text.charCodeAt(i);
      if (d === 32 || d === 9 || d === 10 || d === 13) break;
    }
    // Only a word of MIN_LEN chars can hold a candidate run that long.
    if (i - start >= MIN_LEN && longestRun(text, start, i) >= MIN_LEN) emitCandidates(ctx, start, i);
  }
  ctx.slots[FRONTIER] = i;
}

export const genericDetector: Detector = {
  id: KIND,
  kinds: [KIND, 'password'],
  triggers: KEYWORDS,
  caseSensitive: false,
  scan: scanGeneric,
};
