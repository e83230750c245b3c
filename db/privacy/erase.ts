/**
 * Tenant erasure, the database part: every row of every table with a tenant_id column
 * (information_schema, so later tables are covered), the tenant's data keys first
 * (crypto-shredding: a restored backup can no longer open its values), then the tenants row.
 * One transaction, allowed to delete audit rows. Re-running it is a no-op with zero counts.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { withAuditMaintenance } from '../audit.ts';
import type { Sealer } from '../crypto.ts';
import { ident, query, tenantTables } from './tables.ts';

export async function eraseTenantRows(db: Db, sealer: Sealer, tenantId: string): Promise<{ rows: Record<string, number>; dataKeysDestroyed: number }> {
  const rows: Record<string, number> = {};
  let dataKeysDestroyed = 0;
  await withAuditMaintenance(db, async (tx) => {
    const tables = (await tenantTables(tx)).sort((a, b) => (a.name === 'tenant_keys' ? -1 : b.name === 'tenant_keys' ? 1 : a.name.localeCompare(b.name)));
    for (const t of tables) {
      const n = (await query(tx, sql`delete from ${ident(t.name)} where tenant_id = ${tenantId} returning 1 as ok`)).length;
      if (t.name === 'tenant_keys') dataKeysDestroyed = n;
      rows[t.name] = n;
    }
    rows.tenants = (await query(tx, sql`delete from tenants where id = ${tenantId} returning 1 as ok`)).length;
  });
  sealer.forget(tenantId);
  return { rows, dataKeysDestroyed };
}

/** Rows still held for the tenant, per table (zero everywhere after erasure). */
export async function tenantRowCounts(db: Db, tenantId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tenantTables(db)) {
    const [r] = await query<{ n: string | number }>(db, sql`select count(*) as n from ${ident(t.name)} where tenant_id = ${tenantId}`);
    out[t.name] = Number(r?.n ?? 0);
  }
  const [r] = await query<{ n: string | number }>(db, sql`select count(*) as n from tenants where id = ${tenantId}`);
  out.tenants = Number(r?.n ?? 0);
  return out;
}
