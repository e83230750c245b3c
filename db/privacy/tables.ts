/**
 * The database as it is, not as this file remembers it: every base table with a tenant_id
 * column, read from information_schema, so export, erasure and forget-me also reach tables
 * added later by other features. Raw SQL helpers work on postgres.js and PGlite alike.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import type { Tx } from '../audit.ts';

export interface TenantTable {
  name: string;
  columns: Array<{ name: string; type: string }>;
}

export function rowsOf<T = Record<string, unknown>>(res: unknown): T[] {
  if (Array.isArray(res)) return res as T[];
  return ((res as { rows?: T[] }).rows ?? []);
}

export async function query<T = Record<string, unknown>>(db: Db | Tx, q: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(q));
}

export async function tenantTables(db: Db | Tx): Promise<TenantTable[]> {
  const cols = await query<{ table_name: string; column_name: string; data_type: string }>(db, sql`
    select c.table_name, c.column_name, c.data_type
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
    order by c.table_name, c.ordinal_position`);
  const byTable = new Map<string, TenantTable>();
  for (const c of cols) {
    const t = byTable.get(c.table_name) ?? { name: c.table_name, columns: [] };
    t.columns.push({ name: c.column_name, type: c.data_type });
    byTable.set(c.table_name, t);
  }
  return [...byTable.values()].filter((t) => t.columns.some((c) => c.name === 'tenant_id'));
}

export async function tableExists(db: Db | Tx, name: string): Promise<boolean> {
  const r = await query(db, sql`select 1 from information_schema.tables where table_schema = current_schema() and table_name = ${name}`);
  return r.length > 0;
}

export const ident = (name: string) => sql.identifier(name);
