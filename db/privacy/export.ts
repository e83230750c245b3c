/**
 * Tenant export (GDPR Art. 15/20): one JSON document with every row the tenant owns, table
 * by table as information_schema lists them (so tables added later are included), minus
 * every bytea column: env var values, sealed secrets and wrapped keys appear as names only.
 * Categories: tenant (settings with effective retention), apps, deployments, actions,
 * audit events (+ head and checkpoints), env var names, roles, analytics, LLM records, …
 * Nothing of another tenant: every query is `where tenant_id = $1`.
 */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { tenants } from '../schema/index.ts';
import { privacySettingsOf } from './settings.ts';
import { ident, query, tenantTables } from './tables.ts';

export const EXPORT_FORMAT = 'hoist-tenant-export/1';

export interface TenantExport {
  format: typeof EXPORT_FORMAT;
  tenantId: string;
  exportedAt: string;
  tenant: Record<string, unknown> | null;
  privacy: ReturnType<typeof privacySettingsOf>;
  /** Table name → rows (bytea columns omitted). */
  tables: Record<string, Array<Record<string, unknown>>>;
  /** Which columns were left out because they hold ciphertext or key material. */
  omitted: Record<string, string[]>;
}

function plain(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export async function exportTenant(db: Db, tenantId: string, now: Date): Promise<TenantExport> {
  const [t] = await db.select({ id: tenants.id, platform: tenants.platform, keyVersion: tenants.keyVersion, settings: tenants.settings, createdAt: tenants.createdAt })
    .from(tenants).where(eq(tenants.id, tenantId));
  const out: TenantExport = {
    format: EXPORT_FORMAT, tenantId, exportedAt: now.toISOString(),
    tenant: t ? { ...t, createdAt: t.createdAt.toISOString() } : null,
    privacy: privacySettingsOf(t?.settings), tables: {}, omitted: {},
  };
  for (const table of await tenantTables(db)) {
    const cols = table.columns.filter((c) => c.type !== 'bytea');
    const omitted = table.columns.filter((c) => c.type === 'bytea').map((c) => c.name);
    if (omitted.length) out.omitted[table.name] = omitted;
    const order = table.columns.some((c) => c.name === 'seq') ? sql` order by seq` : table.columns.some((c) => c.name === 'created_at') ? sql` order by created_at` : sql``;
    const rows = await query(db, sql`select ${sql.join(cols.map((c) => ident(c.name)), sql`, `)} from ${ident(table.name)} where tenant_id = ${tenantId}${order}`);
    out.tables[table.name] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
  }
  return out;
}
