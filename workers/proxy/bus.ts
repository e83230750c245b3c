/**
 * Postgres LISTEN/NOTIFY between workers and the endpoint proxy, on the database client
 * the process already has (postgres.js opens one dedicated listening connection; PGlite
 * delivers notifications inside its own instance). Channels: `hoist_routes` (a worker
 * changed an app's route; payload `<nonce>\n<tenant>\n<app>`), `hoist_proxy` (the proxy
 * says `alive`, or `ack\n<nonce>` once it serves the new route and old connections drained).
 * Notifications are a fast path only: the proxy also polls, so a lost one costs a delay.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';

export const CHANNELS = { routes: 'hoist_routes', proxy: 'hoist_proxy' } as const;

export interface Bus {
  notify(channel: string, payload: string): Promise<void>;
  /** Undefined when the client cannot listen (then the proxy relies on polling). */
  listen?(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
}

type Listenable = {
  listen(channel: string, fn: (payload: string) => void): Promise<unknown>;
};

export function busFor(db: Db): Bus {
  const client = (db as unknown as { $client?: unknown }).$client as Partial<Listenable> | undefined;
  const canListen = !!client && typeof client.listen === 'function';
  return {
    async notify(channel, payload) {
      await db.execute(sql`select pg_notify(${channel}, ${payload})`);
    },
    ...(canListen ? {
      async listen(channel: string, fn: (payload: string) => void) {
        const handle = await (client as Listenable).listen(channel, fn);
        // postgres.js answers { unlisten() }, PGlite an unlisten function.
        if (typeof handle === 'function') return async () => { await (handle as () => Promise<void>)(); };
        const h = handle as { unlisten?: () => Promise<void> };
        return async () => { await h.unlisten?.(); };
      },
    } : {}),
  };
}
