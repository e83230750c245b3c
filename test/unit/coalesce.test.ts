import { describe, expect, it } from 'vitest';
import { coalesceFresh } from '../../workers/deploy/coalesce.ts';

/** A read whose calls are numbered and finish when the test says so. */
function controlledRead() {
  const calls: Array<{ key: string; finish: (v: string) => void; fail: (e: Error) => void }> = [];
  const read = (key: string) => new Promise<string>((finish, fail) => { calls.push({ key, finish: (v) => finish(v), fail }); });
  return { calls, read };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('coalesceFresh', () => {
  it('callers during a read share the next read, started after it, never the one already running', async () => {
    const { calls, read } = controlledRead();
    const get = coalesceFresh((k: string) => k, read);
    const a = get('t');
    await tick();
    const b = get('t');
    const c = get('t');
    expect(calls).toHaveLength(1); // b and c wait: the running read began before they asked
    calls[0]!.finish('one');
    expect(await a).toBe('one');
    await tick();
    expect(calls).toHaveLength(2);
    const d = get('t'); // arrives while the second read runs: gets a third
    calls[1]!.finish('two');
    expect(await b).toBe('two');
    expect(await c).toBe('two');
    await tick();
    expect(calls).toHaveLength(3);
    calls[2]!.finish('three');
    expect(await d).toBe('three');
    // All settled: the next caller starts a read of its own at once.
    const e = get('t');
    await tick();
    expect(calls).toHaveLength(4);
    calls[3]!.finish('four');
    expect(await e).toBe('four');
  });

  it('keys do not share, and a failed read fails only its own callers', async () => {
    const { calls, read } = controlledRead();
    const get = coalesceFresh((k: string) => k, read);
    const x = get('x');
    const y = get('y');
    expect(calls.map((c) => c.key)).toEqual(['x', 'y']);
    const x2 = get('x');
    calls[0]!.fail(new Error('engine down'));
    await expect(x).rejects.toThrow('engine down');
    await tick();
    expect(calls).toHaveLength(3); // x2 still gets a read of its own after the failure
    calls[2]!.finish('x fresh');
    expect(await x2).toBe('x fresh');
    calls[1]!.finish('y');
    expect(await y).toBe('y');
  });
});
