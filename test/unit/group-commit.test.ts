import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../db/group-commit.ts';

describe('groupCommit', () => {
  it('writes the first item at once and the ones that arrive meanwhile together, in order', async () => {
    const writes: number[][] = [];
    let release: () => void = () => undefined;
    const add = groupCommit(async (xs: number[]) => {
      writes.push(xs);
      if (writes.length === 1) await new Promise<void>((r) => { release = r; });
      return xs.map((x) => x * 10);
    });
    const first = add(1);
    const rest = [add(2), add(3), add(4)];
    await new Promise((r) => setTimeout(r, 0));
    expect(writes).toEqual([[1]]); // the others wait for the write in flight
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  it('a failed batch is retried item by item: only the bad item fails', async () => {
    const writes: string[][] = [];
    let hold: Promise<void> | undefined = new Promise<void>((r) => setTimeout(r, 10));
    const add = groupCommit(async (xs: string[]) => {
      writes.push(xs);
      if (hold) { const h = hold; hold = undefined; await h; }
      if (xs.includes('bad')) throw new Error(`refused ${xs.join(',')}`);
      return xs.map((x) => x.toUpperCase());
    });
    const a = add('a');
    const others = [add('b'), add('bad'), add('c')].map((p) => p.then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    expect(await a).toBe('A');
    expect(await Promise.all(others)).toEqual([{ v: 'B' }, { e: 'refused bad' }, { v: 'C' }]);
    expect(writes).toEqual([['a'], ['b', 'bad', 'c'], ['b'], ['bad'], ['c']]);
  });

  it('caps a batch at maxBatch', async () => {
    const sizes: number[] = [];
    let release: () => void = () => undefined;
    const add = groupCommit(async (xs: number[]) => {
      sizes.push(xs.length);
      if (sizes.length === 1) await new Promise<void>((r) => { release = r; });
      return xs;
    }, 3);
    const all = Array.from({ length: 8 }, (_, i) => add(i));
    await new Promise((r) => setTimeout(r, 0));
    release();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sizes).toEqual([1, 3, 3, 1]);
  });
});
