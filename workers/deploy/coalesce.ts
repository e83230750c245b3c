/**
 * Fresh-read coalescing: callers that ask for the same key while a read is in flight share
 * the NEXT read, started when the current one ends, never the current one (it began before
 * they asked, so it could miss a change they just made). Each answer therefore reflects state
 * at or after its request; a burst of N concurrent `status` calls for one tenant costs at most
 * two engine list calls instead of N.
 */
export function coalesceFresh<A extends unknown[], T>(key: (...a: A) => string, read: (...a: A) => Promise<T>): (...a: A) => Promise<T> {
  const lanes = new Map<string, { running: Promise<T>; next?: Promise<T> }>();
  return (...a: A) => {
    const k = key(...a);
    const lane = lanes.get(k);
    if (!lane) {
      const running = read(...a);
      const entry: { running: Promise<T>; next?: Promise<T> } = { running };
      lanes.set(k, entry);
      const done = () => { if (lanes.get(k) === entry && !entry.next) lanes.delete(k); };
      running.then(done, done);
      return running;
    }
    if (!lane.next) {
      const next = lane.running.then(() => read(...a), () => read(...a));
      lane.next = next;
      const promote = () => {
        if (lanes.get(k) !== lane) return;
        // The follow-up became the current read: later callers queue behind it.
        lanes.set(k, { running: next });
        const settle = () => { if (lanes.get(k)?.running === next && !lanes.get(k)?.next) lanes.delete(k); };
        next.then(settle, settle);
      };
      lane.running.then(promote, promote);
    }
    return lane.next;
  };
}
