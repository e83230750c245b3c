/**
 * Database client factory: postgres.js for a DATABASE_URL, embedded PGlite otherwise.
 * Both yield the same drizzle API over the same schema and the same committed migrations.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface DbHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Where it points, without credentials: safe to print. */
  label: string;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * LISTEN on a channel over a connection of its own: `onListen` each time it is (re)established,
   * `onDown` when it is lost (it is re-established with backoff until the returned stop runs).
   */
  listen?(channel: string, onNotify: (payload: string) => void, onListen: () => void, onDown: () => void): Promise<() => Promise<void>>;
}

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

/** Distinct statement texts a pool prepares; each costs a little memory in every server connection. */
const PREPARED_TEXTS = 256;
/** Longer texts (multi-row inserts, long IN lists) are one-offs: they run unprepared. */
const PREPARED_MAX_LENGTH = 4_000;
/** Only queries are worth a slot: migrations' DDL and session commands run once. */
const DML = /^\s*(?:select|insert|update|delete|with)\b/i;

/**
 * Prepared statements for drizzle's queries. postgres.js runs an unprepared query that has
 * parameters in two round trips (Parse/Describe and wait, then Bind/Execute: two socket writes)
 * and PostgreSQL plans it each time; once prepared, a text takes one round trip. drizzle prepares
 * only queries given a name, so this prepares what it sees: the first PREPARED_TEXTS distinct
 * texts (the hot path has a few dozen; batch writes use one text whatever the batch size).
 * A statement a migration made stale is re-prepared by postgres.js itself (it retries on
 * RevalidateCachedQuery / FetchPreparedStatement). Transactions use their own connection
 * object and stay unprepared.
 */
function preparing(client: { unsafe: (q: string, p?: never, o?: { prepare?: boolean }) => unknown }): void {
  const unsafe = client.unsafe.bind(client);
  const known = new Set<string>();
  client.unsafe = (q, p, o) => {
    let prepare = o?.prepare;
    if (prepare === undefined || prepare === false) {
      if (known.has(q)) prepare = true;
      else if (known.size < PREPARED_TEXTS && q.length <= PREPARED_MAX_LENGTH && DML.test(q)) { known.add(q); prepare = true; }
    }
    return unsafe(q, p, { ...o, prepare });
  };
}

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = u.username ? '***' : '';
    u.password = '';
    return u.toString().replace('***@', '');
  } catch {
    return '(unparseable URL)';
  }
}

export async function createDb(opts: {
  url?: string; pgliteDir?: string; max?: number;
  /** Prepare repeated statements (default true); false behind a transaction-mode pooler (HOIST_PG_PREPARE=off). */
  prepare?: boolean;
}): Promise<DbHandle> {
  if (opts.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(opts.url, { max: opts.max ?? 10, onnotice: () => undefined, connect_timeout: 5 });
    if (opts.prepare !== false) preparing(client as never);
    const db = drizzle(client, { schema });
    return {
      db: db as unknown as Db,
      kind: 'postgres',
      label: safeUrl(opts.url),
      migrate: () => migrate(db, { migrationsFolder: MIGRATIONS }),
      ping: async () => { await client`select 1`; },
      close: () => client.end({ timeout: 5 }),
      listen: async (channel, onNotify, onListen, onDown) => {
        let stopped = false;
        let retry: NodeJS.Timeout | undefined;
        const ch = `"${channel.replace(/"/g, '""')}"`;
        const subscribe = async (): Promise<void> => {
          if (stopped) return;
          try {
            await lc.unsafe(`listen ${ch}`);
            if (!stopped) onListen();
          } catch {
            if (!stopped) retry = setTimeout(() => void subscribe(), 1000).unref();
          }
        };
        // Not the pool: a LISTEN lives on one connection; when it closes, we are deaf until re-subscribed.
        const lc = postgres(opts.url!, {
          max: 1, idle_timeout: 0, max_lifetime: null, connect_timeout: 5, onnotice: () => undefined,
          onnotify: (c: string, payload: string) => { if (c === channel) onNotify(payload); },
          onclose: () => { if (stopped) return; onDown(); retry = setTimeout(() => void subscribe(), 200).unref(); },
        } as Parameters<typeof postgres>[1]);
        await subscribe();
        return async () => { stopped = true; clearTimeout(retry); await lc.end({ timeout: 1 }); };
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  if (opts.pgliteDir) mkdirSync(opts.pgliteDir, { recursive: true });
  const client = new PGlite(opts.pgliteDir);
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    label: opts.pgliteDir ? `pglite:${opts.pgliteDir}` : 'pglite:memory',
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS }),
    ping: async () => { await client.query('select 1'); },
    close: () => client.close(),
    // One process owns an embedded database: its notifications cannot be lost.
    listen: async (channel, onNotify, onListen) => {
      const off = await client.listen(channel, onNotify);
      onListen();
      return off;
    },
  };
}
