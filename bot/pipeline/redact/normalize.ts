/**
 * Invisible characters pasted inside a token (zero-width spaces, joiners, BOM, word
 * joiner, soft hyphen, bidi controls) would otherwise split it so no detector sees it.
 * We match on a copy without them and map every offset back to the original, so a
 * placeholder swallows the invisible characters along with the secret.
 */
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/;

export interface Normalized {
  readonly text: string;
  /** Original offset of each char of `text`; null when nothing was stripped (identity). */
  readonly map: Int32Array | null;
}

function isInvisible(c: number): boolean {
  return c === 0x00ad || c === 0x180e || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) || c === 0xfeff;
}

const CHUNK = 8192;

export function normalize(input: string): Normalized {
  if (!INVISIBLE.test(input)) return { text: input, map: null };
  // One char loop: kept code units go to a buffer decoded in chunks (no per-run slices
  // or regex match objects, which dominate on text dense with invisible chars).
  const n = input.length;
  const map = new Int32Array(n);
  const units = new Uint16Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x00ad && isInvisible(c)) continue;
    units[k] = c;
    map[k++] = i;
  }
  const parts: string[] = [];
  for (let off = 0; off < k; off += CHUNK) {
    parts.push(String.fromCharCode.apply(null, units.subarray(off, Math.min(off + CHUNK, k)) as unknown as number[]));
  }
  return { text: parts.join(''), map: map.subarray(0, k) };
}

/** Maps a half-open span of the normalized text to the original input. */
export function toOriginal(norm: Normalized, start: number, end: number): [number, number] {
  const map = norm.map;
  if (map === null) return [start, end];
  return [map[start] as number, (map[end - 1] as number) + 1];
}
