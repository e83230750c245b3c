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
