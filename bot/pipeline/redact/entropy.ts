const counts = new Uint32Array(65536);

/** Shannon entropy in bits per character, counted over UTF-16 code units. */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  // A shared table, cleared after use, keeps this allocation-free on the hot path.
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    counts[c] = (counts[c] as number) + 1;
  }
  let h = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const k = counts[c] as number;
    if (k === 0) continue;
    const p = k / n;
    h -= p * Math.log2(p);
    counts[c] = 0;
  }
  return h;
}
