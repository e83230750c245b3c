const counts = new Uint32Array(65536);

// −p·log2(p) for p = k/n is a pure function of (k, n): for short strings (tokens) it is
// looked up instead of recomputed, which gives bit-identical sums without the log2 calls.
const MEMO_N = 128;
const terms = new Float64Array((MEMO_N + 1) * (MEMO_N + 1)).fill(NaN);

function term(k: number, n: number): number {
  const p = k / n;
  return p * Math.log2(p);
}

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
  const memo = n <= MEMO_N;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const k = counts[c] as number;
    if (k === 0) continue;
    if (memo) {
      const slot = n * (MEMO_N + 1) + k;
      let t = terms[slot] as number;
      if (t !== t) {
        t = term(k, n);
        terms[slot] = t;
      }
      h -= t;
    } else h -= term(k, n);
    counts[c] = 0;
  }
  return h;
}
