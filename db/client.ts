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
}

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

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

export async function createDb(opts: { url?: string; pgliteDir?: string; max?: number }): Promise<DbHandle> {
  if (opts.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(opts.url, { max: opts.max ?? 10, onnotice: () => undefined, connect_timeout: 5 });
    const db = drizzle(client, { schema });
    return {
      db: db as unknown as Db,
      kind: 'postgres',
      label: safeUrl(opts.url),
      migrate: () => migrate(db, { migrationsFolder: MIGRATIONS }),
      ping: async () => { await client`select 1`; },
      close: () => client.end({ timeout: 5 }),
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
  };
}
