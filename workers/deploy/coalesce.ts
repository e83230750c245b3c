/**
 * Fresh-read coalescing: callers that ask for the same key while a read is in flight share
 * the NEXT read, started when the current one ends, never the current one (it began before
 * they asked, so it could miss a change they just made). Each answer therefore reflects state
 * at or after its request; a burst of N concurrent `status` calls for one tenant costs at most
 * two engine list calls instead of N.
 */
export function coalesceFresh<A extends unknown[], T>(key: (...a: A) => string, read: (...a: A) => Promise<T>): (...a: A) => Promise<T> {
  const lanes = new Map<string, { running: Promise<T>; next?: Promise<T> }>();
  const start = (k: string, a: A): Promise<T> => {
    const lane: { running: Promise<T>; next?: Promise<T> } = { running: read(...a) };
    lanes.set(k, lane);
    // Left in place when callers queued behind it: their read replaces it as it starts.
    const end = () => { if (lanes.get(k) === lane && !lane.next) lanes.delete(k); };
    lane.running.then(end, end);
    return lane.running;
  };
  return (...a: A) => {
    const k = key(...a);
    const lane = lanes.get(k);
    if (!lane) return start(k, a);
    lane.next ??= lane.running.then(() => start(k, a), () => start(k, a));
    return lane.next;
  };
}
