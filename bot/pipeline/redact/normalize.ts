/**
 * Invisible characters pasted inside a token (zero-width spaces, joiners, BOM, word
 * joiner, soft hyphen, bidi controls) would otherwise split it so no detector sees it.
 * We match on a copy without them and map every offset back to the original, so a
 * placeholder swallows the invisible characters along with the secret.
 */
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/;
const INVISIBLE_G = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]+/g;

export interface Normalized {
  readonly text: string;
  /** Original offset of each char of `text`; null when nothing was stripped (identity). */
  readonly map: Int32Array | null;
}

export function normalize(input: string): Normalized {
  if (!INVISIBLE.test(input)) return { text: input, map: null };
  const map = new Int32Array(input.length);
  let out = '';
  let n = 0;
  let last = 0;
  INVISIBLE_G.lastIndex = 0;
  for (let m = INVISIBLE_G.exec(input); m !== null; m = INVISIBLE_G.exec(input)) {
    out += input.slice(last, m.index);
    for (let i = last; i < m.index; i++) map[n++] = i;
    last = m.index + m[0].length;
  }
  out += input.slice(last);
  for (let i = last; i < input.length; i++) map[n++] = i;
  return { text: out, map: map.subarray(0, n) };
}

/** Maps a half-open span of the normalized text to the original input. */
export function toOriginal(norm: Normalized, start: number, end: number): [number, number] {
  const map = norm.map;
  if (map === null) return [start, end];
  return [map[start] as number, (map[end - 1] as number) + 1];
}
