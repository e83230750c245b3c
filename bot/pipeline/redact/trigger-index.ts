/**
 * The prefilter: one pass over the text looking up each bigram in a 64K-entry table.
 * Only where a detector's literal trigger starts does that detector's regex run, so
 * the cost of ~100 detectors on chat text is one table lookup per character.
 */
import type { Detector, ScanContext } from './detector.ts';

interface Entry {
  readonly text: string;
  readonly lower: string;
  readonly caseSensitive: boolean;
  readonly detectors: readonly number[];
}

const LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) LOWER[c] = c >= 65 && c <= 90 ? c | 0x20 : c;

export interface TriggerIndex {
  readonly detectors: readonly Detector[];
  /** `detectors[d].scan`, unbound (scans do not use `this`): a plain indexed load in the hot loop. */
  readonly scans: readonly ((ctx: ScanContext, at: number) => void)[];
  /** (first << 8 | second) char code → 1-based index into `buckets`, 0 when no trigger starts so. */
  readonly table: Uint16Array;
  readonly buckets: readonly (readonly Entry[])[];
  /** (bucket - 1) * 256 + third char → 1 when some entry of the bucket allows that third char. */
  readonly third: Uint8Array;
  /** Per bucket: the node of each trie after the bucket's two chars (0: none), where walks start. */
  readonly bucketCiNode: Uint16Array;
  readonly bucketCsNode: Uint16Array;
  /** Every trigger in one trie per case mode (see `Trie`); entries numbered in bucket order. */
  readonly ci: Trie;
  readonly cs: Trie;
  /** Detector ids of entry k, in order. */
  readonly entryDetectors: readonly (readonly number[])[];
}

/**
 * Triggers as a trie over ASCII: `child[node * 128 + c]` is the next node (0: none) and
 * `entry[node]` the entry ending there (-1: none). One walk finds every trigger starting
 * at a position, one char comparison per char, instead of one comparison per trigger.
 */
export interface Trie {
  readonly child: Uint16Array;
  readonly entry: Int32Array;
  readonly parent: Int32Array;
  /**
   * Per node: the detectors of every entry ending on the path to it (itself included), in
   * entry order, each once: what to run when the walk's deepest entry is this node.
   */
  readonly scanList: readonly (readonly number[])[];
}

function buildTrie(words: readonly [string, number][], entryDetectors: readonly (readonly number[])[]): Trie {
  const child: number[] = new Array<number>(128).fill(0);
  const entry: number[] = [-1];
  const parent: number[] = [0];
  for (const [w, k] of words) {
    let node = 0;
    for (let j = 0; j < w.length; j++) {
      const slot = node * 128 + w.charCodeAt(j);
      let next = child[slot] as number;
      if (next === 0) {
        next = entry.length;
        entry.push(-1);
        parent.push(node);
        for (let c = 0; c < 128; c++) child.push(0);
        child[slot] = next;
      }
      node = next;
    }
    entry[node] = k;
  }
  if (entry.length > 0xffff) throw new Error('trigger trie too large');
  const scanList = entry.map((_, node) => {
    const entries: number[] = [];
    for (let m = node; m !== 0; m = parent[m] as number) if ((entry[m] as number) !== -1) entries.push(entry[m] as number);
    const ids: number[] = [];
    for (const e of entries.sort((a, b) => a - b)) for (const d of entryDetectors[e] as readonly number[]) if (!ids.includes(d)) ids.push(d);
    return ids;
  });
  return { child: Uint16Array.from(child), entry: Int32Array.from(entry), parent: Int32Array.from(parent), scanList };
}

export function buildTriggerIndex(detectors: readonly Detector[]): TriggerIndex {
  const byKey = new Map<string, { text: string; cs: boolean; ids: number[] }>();
  detectors.forEach((d, id) => {
    for (const t of d.triggers) {
      if (t.length < 2 || [...t].some((ch) => ch.charCodeAt(0) > 0x7f || ch === '\n')) throw new Error(`bad trigger ${JSON.stringify(t)} in ${d.id}`);
      const key = d.caseSensitive ? `cs:${t}` : `ci:${t.toLowerCase()}`;
      const e = byKey.get(key) ?? { text: t, cs: d.caseSensitive, ids: [] };
      if (!e.ids.includes(id)) e.ids.push(id);
      byKey.set(key, e);
    }
  });
  // Keyed by the first two chars as written (Latin-1 range), so the hot loop needs no
  // case folding: a case-insensitive trigger is entered under all four case variants.
  const table = new Uint16Array(256 * 256);
  const buckets: Entry[][] = [];
  const bucketOf = new Map<number, number>();
  for (const e of byKey.values()) {
    const lower = e.text.toLowerCase();
    const entry: Entry = { text: e.text, lower, caseSensitive: e.cs, detectors: e.ids };
    const firsts = e.cs ? [e.text[0] as string] : [...new Set([lower[0] as string, (lower[0] as string).toUpperCase()])];
    const seconds = e.cs ? [e.text[1] as string] : [...new Set([lower[1] as string, (lower[1] as string).toUpperCase()])];
    for (const a of firsts) {
      for (const b of seconds) {
        const slot = (a.charCodeAt(0) << 8) | b.charCodeAt(0);
        let k = bucketOf.get(slot);
        if (k === undefined) {
          buckets.push([]);
          k = buckets.length;
          bucketOf.set(slot, k);
          table[slot] = k;
        }
        (buckets[k - 1] as Entry[]).push(entry);
      }
    }
  }
  const third = new Uint8Array(buckets.length * 256);
  buckets.forEach((bucket, k) => {
    for (const e of bucket) {
      const t = e.caseSensitive ? e.text : e.lower;
      const c = t.charCodeAt(2);
      if (Number.isNaN(c)) {
        third.fill(1, k * 256, k * 256 + 256);
        continue;
      }
      third[k * 256 + c] = 1;
      if (!e.caseSensitive) third[k * 256 + (t[2] as string).toUpperCase().charCodeAt(0)] = 1;
    }
  });
  const scans = detectors.map((d) => d.scan);
  const all = [...byKey.values()];
  const entryDetectors = all.map((e) => e.ids);
  const ci = buildTrie(all.flatMap((e, k): [string, number][] => (e.cs ? [] : [[e.text.toLowerCase(), k]])), entryDetectors);
  const cs = buildTrie(all.flatMap((e, k): [string, number][] => (e.cs ? [[e.text, k]] : [])), entryDetectors);
  const bucketCiNode = new Uint16Array(buckets.length);
  const bucketCsNode = new Uint16Array(buckets.length);
  for (const [slot, k] of bucketOf) {
    const a = slot >> 8;
    const b = slot & 0xff;
    if (a >= 128 || b >= 128) continue;
    const ci1 = ci.child[LOWER[a] as number] as number;
    bucketCiNode[k - 1] = ci1 === 0 ? 0 : (ci.child[(ci1 << 7) | (LOWER[b] as number)] as number);
    const cs1 = cs.child[a] as number;
    bucketCsNode[k - 1] = cs1 === 0 ? 0 : (cs.child[(cs1 << 7) | b] as number);
  }
  return { detectors, scans, table, buckets, third, bucketCiNode, bucketCsNode, ci, cs, entryDetectors };
}

/** Whether entry `e` starts at `i`, given that its first two chars matched through the table. */
function matchesAt(text: string, i: number, e: Entry): boolean {
  const len = e.text.length;
  if (i + len > text.length) return false;
  if (e.caseSensitive) {
    // The table is keyed by the first two chars as written, so they are equal already.
    const t = e.text;
    for (let j = 2; j < len; j++) if (text.charCodeAt(i + j) !== t.charCodeAt(j)) return false;
    return true;
  }
  const t = e.lower;
  for (let j = 2; j < len; j++) {
    const c = text.charCodeAt(i + j);
    if (c >= 128 || LOWER[c] !== t.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * The last walk of the case-insensitive trie by `dispatchAt`: in the scan of `ctx`, from
 * position `pos[0]`, the deepest node `pos[1]` of `trie` the text reached (0: none). The
 * chars from there spell that node's path (ASCII case folded) and the next char leaves
 * the trie, so a detector running at that position can read a keyword off the node (see
 * `wordsByNode`) instead of reading the chars again. `ctx` and `trie` are set once per
 * scan and `ctx` is cleared when it ends (no text outlives it); per dispatch only the
 * numbers are stored (a pointer store per dispatch would pay a GC write barrier).
 */
export const LAST_WALK: { ctx: ScanContext | null; trie: Trie | null; readonly pos: Int32Array } = { ctx: null, trie: null, pos: new Int32Array(2) };

/**
 * For lower-case ASCII words: per node of `trie`, the index in `words` of the longest word
 * spelling a prefix of the node's path (-1: none). Null unless every word is a path of the
 * trie: then a word starts at a position iff it is a prefix of the path the walk from
 * there reached, so the longest word there is the node's entry in this table.
 */
export function wordsByNode(trie: Trie, words: readonly string[]): Int16Array | null {
  const count = trie.entry.length;
  const mark = new Int16Array(count).fill(-1);
  for (let w = 0; w < words.length; w++) {
    const word = words[w] as string;
    let node = 0;
    for (let j = 0; j < word.length && node !== -1; j++) {
      const c = word.charCodeAt(j);
      node = c < 128 ? (trie.child[(node << 7) | c] as number) || -1 : -1;
    }
    if (node <= 0) return null;
    const old = mark[node] as number;
    if (old === -1 || (words[old] as string).length < word.length) mark[node] = w;
  }
  // A node is created after its parent, so parents come first.
  const best = new Int16Array(count).fill(-1);
  for (let node = 1; node < count; node++) {
    best[node] = (mark[node] as number) !== -1 ? (mark[node] as number) : (best[trie.parent[node] as number] as number);
  }
  return best;
}

const NO_SKIP = new Int32Array(0);
const NO_IDS: readonly number[] = [];
// Entries matched at one position: at most one per trigger length per trie.
const matchedScratch = new Int32Array(256);

/** Insertion sort of xs[0, n): n is tiny. */
function sortSmall(xs: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = xs[i] as number;
    let j = i - 1;
    while (j >= 0 && (xs[j] as number) > v) {
      xs[j + 1] = xs[j] as number;
      j--;
    }
    xs[j + 1] = v;
  }
}
let lastAtScratch = new Int32Array(0);

/**
 * Runs the scans of every trigger starting at `i` (whose first chars hit bucket `slot`),
 * in entry (bucket) order, which decides ties between equal candidates. Returns whether
 * `stop()` said to stop.
 */
function dispatchAt(index: TriggerIndex, ctx: ScanContext, i: number, slot: number, lastAt: Int32Array, stop: (() => boolean) | null): boolean {
  const text = ctx.text;
  const n = text.length;
  // The deepest trigger end reached in each trie: every trigger matched here lies on its path.
  // The bucket fixes the first two chars, so each walk starts two chars in.
  let ciLast = 0;
  let csLast = 0;
  let node = index.bucketCiNode[slot - 1] as number;
  let ciDeep = node;
  if (node !== 0) {
    const { child, entry } = index.ci;
    if ((entry[node] as number) !== -1) ciLast = node;
    for (let j = i + 2; j < n; j++) {
      const ch = text.charCodeAt(j);
      if (ch >= 128) break;
      node = child[(node << 7) | (LOWER[ch] as number)] as number;
      if (node === 0) break;
      ciDeep = node;
      if ((entry[node] as number) !== -1) ciLast = node;
    }
  }
  const walked = LAST_WALK.pos;
  walked[0] = i;
  walked[1] = ciDeep;
  node = index.bucketCsNode[slot - 1] as number;
  if (node !== 0) {
    const { child, entry } = index.cs;
    if ((entry[node] as number) !== -1) csLast = node;
    for (let j = i + 2; j < n; j++) {
      const ch = text.charCodeAt(j);
      if (ch >= 128) break;
      node = child[(node << 7) | ch] as number;
      if (node === 0) break;
      if ((entry[node] as number) !== -1) csLast = node;
    }
  }
  const scans = index.scans;
  if (ciLast === 0 || csLast === 0) {
    // One trie matched (or none): its precomputed scan list for that path, in entry order
    // and without repeats, is exactly what the general case below would run.
    const list = ciLast !== 0 ? (index.ci.scanList[ciLast] as readonly number[]) : csLast !== 0 ? (index.cs.scanList[csLast] as readonly number[]) : NO_IDS;
    for (let j = 0; j < list.length; j++) {
      (scans[list[j] as number] as (ctx: ScanContext, at: number) => void)(ctx, i);
      if (stop !== null && stop()) return true;
    }
    return false;
  }
  // Both tries matched: every entry on both paths, in entry (bucket) order.
  let matched = 0;
  for (const [trie, last] of [[index.ci, ciLast], [index.cs, csLast]] as const) {
    for (let node = last; node !== 0; node = trie.parent[node] as number) {
      const e = trie.entry[node] as number;
      if (e !== -1) matchedScratch[matched++] = e;
    }
  }
  sortSmall(matchedScratch, matched);
  const { entryDetectors } = index;
  for (let m = 0; m < matched; m++) {
    const ids = entryDetectors[matchedScratch[m] as number] as readonly number[];
    for (let j = 0; j < ids.length; j++) {
      const d = ids[j] as number;
      if (lastAt[d] === i) continue;
      lastAt[d] = i;
      (scans[d] as (ctx: ScanContext, at: number) => void)(ctx, i);
      if (stop !== null && stop()) return true;
    }
  }
  return false;
}

/**
 * Runs `detector.scan(ctx, position)` for each trigger occurrence, at most once per
 * detector and position. Returns early once `stop()` is true after a scan.
 */
export function scanTriggers(
  index: TriggerIndex,
  ctx: ScanContext,
  stop: (() => boolean) | null,
  /** Sorted disjoint [start, end) pairs (existing placeholders) where no trigger may start. */
  skip: Int32Array = NO_SKIP,
): void {
  const text = ctx.text;
  const { detectors, table, third } = index;
  // Scans do not nest, so one scratch array serves every call.
  if (lastAtScratch.length < detectors.length) lastAtScratch = new Int32Array(detectors.length);
  const lastAt = lastAtScratch;
  lastAt.fill(-1);
  LAST_WALK.ctx = ctx;
  LAST_WALK.trie = index.ci;
  LAST_WALK.pos[0] = -1;
  const n = text.length;
  const last = n - 1; // a trigger has at least two chars
  let from = 0;
  for (let k = 0; k <= skip.length; k += 2) {
    const to = k < skip.length ? Math.min(skip[k] as number, last) : last;
    let b = text.charCodeAt(from);
    for (let i = from; i < to; i++) {
      const a = b;
      b = text.charCodeAt(i + 1);
      if ((a | b) > 255) continue;
      const slot = table[(a << 8) | b] as number;
      if (slot === 0) continue;
      const c = i + 2 < n ? text.charCodeAt(i + 2) : 0;
      if (c > 255 || third[((slot - 1) << 8) | c] === 0) continue;
      if (dispatchAt(index, ctx, i, slot, lastAt, stop)) {
        LAST_WALK.ctx = null;
        return;
      }
    }
    if (k < skip.length) from = skip[k + 1] as number;
  }
  LAST_WALK.ctx = null;
}

/**
 * Whether a trigger lies wholly inside [from, to) of `text`. What follows `to` is taken
 * to be a char outside Latin-1 (a placeholder's `⟦`) when `beforePlaceholder`, else the
 * text's own next char: exactly what the trigger scan would see in the text with a
 * placeholder (or a line end) there, since triggers are ASCII without newlines.
 */
export function hasTriggerIn(index: TriggerIndex, text: string, from: number, to: number, beforePlaceholder: boolean): boolean {
  const { table, buckets, third } = index;
  const n = text.length;
  for (let i = from; i < to - 1; i++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if ((a | b) > 255) continue;
    const slot = table[(a << 8) | b] as number;
    if (slot === 0) continue;
    let c: number;
    if (i + 2 < to) c = text.charCodeAt(i + 2);
    else if (beforePlaceholder) continue;
    else c = i + 2 < n ? text.charCodeAt(i + 2) : 0;
    if (c > 255 || third[((slot - 1) << 8) | c] === 0) continue;
    for (const entry of buckets[slot - 1] as readonly Entry[]) {
      if (i + entry.text.length <= to && matchesAt(text, i, entry)) return true;
    }
  }
  return false;
}
