import type { ScanContext } from './detector.ts';
import { LAST_WALK, wordsByNode, type Trie } from './trigger-index.ts';

/** ASCII case-insensitive keyword lookup without allocating: hot path for prose keywords. */
export function keywordAt(text: string, at: number, lowerWordsLongestFirst: readonly string[]): string | null {
  outer: for (const w of lowerWordsLongestFirst) {
    if (at + w.length > text.length) continue;
    for (let j = 0; j < w.length; j++) {
      const c = text.charCodeAt(at + j);
      const lc = c >= 65 && c <= 90 ? c | 0x20 : c;
      if (lc !== w.charCodeAt(j)) continue outer;
    }
    return w;
  }
  return null;
}

/**
 * `keywordAt` bound to one list of lower-case ASCII words, longest first, compiled to a
 * trie: one step per char of the longest match instead of one comparison per word. All
 * words matching at a position are prefixes of one another, so the first in the list
 * (the longest) is the deepest word node on the walk: the same answer as `keywordAt`.
 */
export function keywordMatcher(lowerWordsLongestFirst: readonly string[]): (text: string, at: number) => string | null {
  const words = lowerWordsLongestFirst;
  for (let i = 1; i < words.length; i++) {
    if ((words[i] as string).length > (words[i - 1] as string).length) throw new Error('keywords must be longest first');
  }
  const child: number[] = new Array<number>(128).fill(0);
  const word: number[] = [-1];
  words.forEach((w, wi) => {
    if (w.length === 0 || [...w].some((ch) => ch.charCodeAt(0) > 0x7f) || w !== w.toLowerCase()) throw new Error(`bad keyword ${w}`);
    let node = 0;
    for (let j = 0; j < w.length; j++) {
      const slot = node * 128 + w.charCodeAt(j);
      let next = child[slot] as number;
      if (next === 0) {
        next = word.length;
        word.push(-1);
        for (let k = 0; k < 128; k++) child.push(0);
        child[slot] = next;
      }
      node = next;
    }
    if ((word[node] as number) === -1) word[node] = wi;
  });
  const children = Int32Array.from(child);
  const wordAt = Int32Array.from(word);
  return (text, at) => {
    let node = 0;
    let best = -1;
    for (let i = at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const lc = c >= 65 && c <= 90 ? c | 0x20 : c;
      if (lc >= 128) break;
      node = children[node * 128 + lc] as number;
      if (node === 0) break;
      const w = wordAt[node] as number;
      if (w !== -1) best = w;
    }
    return best === -1 ? null : (words[best] as string);
  };
}

/**
 * `keywordMatcher` for a detector's scan: at the position the trigger walk just came
 * from (`LAST_WALK`), the word is read off the walk's node, the chars are not read again;
 * anywhere else (a scan called directly, or words that are not all trigger paths) the
 * matcher serves. Same answers either way (see `wordsByNode`).
 */
export function keywordFinder(lowerWordsLongestFirst: readonly string[]): (ctx: ScanContext, at: number) => string | null {
  const words = lowerWordsLongestFirst;
  const match = keywordMatcher(words);
  let forTrie: Trie | null = null;
  let byNode: Int16Array | null = null;
  return (ctx, at) => {
    const walk = LAST_WALK;
    if (walk.ctx !== ctx || walk.pos[0] !== at) return match(ctx.text, at);
    if (walk.trie !== forTrie) {
      forTrie = walk.trie;
      byNode = forTrie === null ? null : wordsByNode(forTrie, words);
    }
    if (byNode === null) return match(ctx.text, at);
    const w = byNode[walk.pos[1] as number] as number;
    return w === -1 ? null : (words[w] as string);
  };
}

/**
 * `secret` (any ASCII case) right before a line end, as in `kind: Secret`: whatever keyword
 * the rules find in it, no separator and no word can follow on that line, so a keyword rule
 * can return before looking the keyword up (dense Kubernetes manifests hit this per object).
 */
export function secretAtLineEnd(text: string, at: number): boolean {
  const c6 = text.charCodeAt(at + 6);
  if (c6 !== 10 && c6 !== 13) return false;
  const w = 'secret';
  for (let j = 0; j < 6; j++) if ((text.charCodeAt(at + j) | 0x20) !== w.charCodeAt(j)) return false;
  return true;
}
