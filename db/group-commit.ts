/**
 * Group commit. With no write in flight an item is written at once; items that arrive while one
 * is in flight go together in the next write (up to `maxBatch`), so a busy path pays one
 * statement — one round trip, one socket write — per batch instead of one per item. Each
 * caller's promise settles with its own item's outcome: when a batch fails, its items are written
 * again one by one, so one bad item (its tenant deleted meanwhile, say) does not fail the others.
 * `write` returns one result per item, in the items' order.
 */
export function groupCommit<T, R>(write: (items: T[]) => Promise<R[]>, maxBatch = 200): (item: T) => Promise<R> {
  let queue: Array<{ item: T; done: (r: R) => void; fail: (e: unknown) => void }> = [];
  let busy = false;
  const settle = async (batch: typeof queue) => {
    try {
      const out = await write(batch.map((b) => b.item));
      batch.forEach((b, i) => b.done(out[i] as R));
    } catch (e) {
      if (batch.length === 1) return batch[0]!.fail(e);
      for (const b of batch) {
        try {
          b.done((await write([b.item]))[0] as R);
        } catch (one) {
          b.fail(one);
        }
      }
    }
  };
  const drain = async () => {
    busy = true;
    while (queue.length) {
      const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
      if (batch === queue) queue = [];
      await settle(batch);
    }
    busy = false;
  };
  return (item: T) => new Promise<R>((done, fail) => {
    queue.push({ item, done, fail });
    if (!busy) void drain();
  });
}
