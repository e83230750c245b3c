/**
 * Names the model proposes are resolved against the tenant's own apps and environments:
 * a case-insensitive exact match is used; one edit away (including a swap of two adjacent
 * letters) is a "Did you mean …?" question, never a silent guess; anything else is left as
 * it is, so the pipeline answers "No app named X; apps: …" as it does for the grammar.
 */

/** Optimal-string-alignment distance, stopping early once it exceeds `max`. */
export function editDistance(a: string, b: string, max = 2): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    let rowMin = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
  }
  return d[a.length]![b.length]!;
}

export type Resolution = { kind: 'exact'; name: string } | { kind: 'suggest'; names: string[] } | { kind: 'none' };

export function resolveName(given: string, known: readonly string[]): Resolution {
  const g = given.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === g);
  if (exact) return { kind: 'exact', name: exact };
  const near = known.filter((k) => editDistance(g, k.toLowerCase(), 1) <= 1);
  return near.length > 0 ? { kind: 'suggest', names: near } : { kind: 'none' };
}
