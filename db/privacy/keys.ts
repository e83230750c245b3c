/**
 * Key rotation, online. `rewrapTenantKeys`: every tenant key version not wrapped by the
 * current master key is unwrapped (with a previous master key from the keyring) and wrapped
 * again; values are untouched. `rotateTenantKey`: a new data key version becomes current
 * (tenants.key_version, read on every seal), then every sealed value of the tenant is
 * re-encrypted in batches with conditional updates (a concurrent write wins and is already
 * on the new version); once no ciphertext names an old version, the old versions are deleted.
 * Reads never stop: each ciphertext names its key version (db/crypto.ts).
 * SEALED_COLUMNS is the list of every sealed column: a feature adding one adds it here.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, lt, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { keyVersionOf, type Sealer } from '../crypto.ts';
import { tenantKeys, tenants } from '../schema/index.ts';
import { ident, query, tableExists } from './tables.ts';

export interface SealedColumn {
  table: string;
  /** Primary-key columns identifying one row. */
  key: string[];
  /** The purpose the value was sealed with, from its row. */
  purpose(row: Record<string, unknown>): string;
}

export const SEALED_COLUMNS: SealedColumn[] = [
  { table: 'env_vars', key: ['tenant_id', 'app', 'key'], purpose: (r) => `env:${String(r.app)}:${String(r.key)}` },
  { table: 'sealed_secrets', key: ['action_id', 'placeholder'], purpose: (r) => `action:${String(r.action_id)}:${String(r.placeholder)}` },
  { table: 'tenant_secrets', key: ['tenant_id', 'name', 'version'], purpose: (r) => `secret:${String(r.name)}:${String(r.version)}` },
  { table: 'llm_keys', key: ['tenant_id'], purpose: () => 'llm-key' },
];

/** Keys wrapped by a master key the keyring lacks are counted in `unreadable` and left as they are. */
export async function rewrapTenantKeys(db: Db, sealer: Sealer): Promise<{ rewrapped: number; unreadable: string[] }> {
  const current = sealer.keyring.current.kid;
  let rewrapped = 0;
  const unreadable: string[] = [];
  for (const row of await db.select().from(tenantKeys).where(ne(tenantKeys.masterKid, current))) {
    let key: Buffer;
    try {
      key = sealer.unwrap(row.tenantId, row);
    } catch {
      unreadable.push(`${row.tenantId} v${row.version}`);
      continue;
    }
    const r = await db.update(tenantKeys).set(sealer.wrap(row.tenantId, row.version, key))
      .where(and(eq(tenantKeys.tenantId, row.tenantId), eq(tenantKeys.version, row.version), eq(tenantKeys.masterKid, row.masterKid)))
      .returning({ v: tenantKeys.version });
    rewrapped += r.length;
  }
  return { rewrapped, unreadable };
}

export interface RotationReport { tenantId: string; from: number; to: number; reencrypted: Record<string, number>; destroyedVersions: number }

const versionBytes = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };

/** Rows of one sealed column still on another key version than `target`. */
function staleRows(c: SealedColumn, tenantId: string, target: number, limit: number): SQL {
  return sql`select ${sql.join(c.key.map(ident), sql`, `)}, ciphertext from ${ident(c.table)}
    where tenant_id = ${tenantId} and not (get_byte(ciphertext, 0) = 2 and substring(ciphertext from 2 for 4) = ${versionBytes(target)})
    limit ${limit}`;
}

export async function rotateTenantKey(db: Db, sealer: Sealer, tenantId: string, opts: { batchSize?: number; onBatch?: (n: number) => void } = {}): Promise<RotationReport | undefined> {
  const batch = opts.batchSize ?? 200;
  const bumped = await db.transaction(async (tx) => {
    const [t] = await tx.select({ v: tenants.keyVersion }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
    if (!t) return undefined;
    const versions = await tx.select({ v: tenantKeys.version }).from(tenantKeys).where(eq(tenantKeys.tenantId, tenantId));
    if (versions.length === 0) return undefined; // nothing was ever sealed: the first seal creates the key
    const to = Math.max(t.v, ...versions.map((r) => r.v)) + 1;
    await tx.insert(tenantKeys).values({ tenantId, version: to, ...sealer.wrap(tenantId, to, randomBytes(32)) });
    await tx.update(tenants).set({ keyVersion: to }).where(eq(tenants.id, tenantId));
    return { from: t.v, to };
  });
  if (!bumped) return undefined;
  const reencrypted: Record<string, number> = {};
  // Two passes: the second catches a value sealed by a writer that read the old version just before the bump.
  for (let pass = 0; pass < 2; pass++) {
    for (const c of SEALED_COLUMNS) {
      if (!(await tableExists(db, c.table))) continue;
      for (;;) {
        const rows = await query<Record<string, unknown> & { ciphertext: Buffer | Uint8Array }>(db, staleRows(c, tenantId, bumped.to, batch));
        if (rows.length === 0) break;
        let moved = 0;
        for (const r of rows) {
          const old = Buffer.from(r.ciphertext);
          const purpose = c.purpose(r);
          const fresh = await sealer.seal(tenantId, purpose, await sealer.openBytes(tenantId, purpose, old), bumped.to);
          const where = sql.join([...c.key.map((k) => sql`${ident(k)} = ${r[k] as string}`), sql`ciphertext = ${old}`], sql` and `);
          const done = await query(db, sql`update ${ident(c.table)} set ciphertext = ${fresh} where ${where} returning 1 as ok`);
          moved += done.length;
        }
        reencrypted[c.table] = (reencrypted[c.table] ?? 0) + moved;
        opts.onBatch?.(rows.length);
        if (rows.length < batch) break;
      }
    }
    if (pass === 0) await new Promise((r) => setTimeout(r, 200));
  }
  const destroyed = await db.delete(tenantKeys).where(and(eq(tenantKeys.tenantId, tenantId), lt(tenantKeys.version, bumped.to))).returning({ v: tenantKeys.version });
  sealer.forget(tenantId);
  return { tenantId, ...bumped, reencrypted, destroyedVersions: destroyed.length };
}

/** Every key version still referenced by a sealed value of the tenant (for tests and `keys status`). */
export async function versionsInUse(db: Db, tenantId: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const c of SEALED_COLUMNS) {
    if (!(await tableExists(db, c.table))) continue;
    for (const r of await query<{ ciphertext: Buffer | Uint8Array }>(db, sql`select ciphertext from ${ident(c.table)} where tenant_id = ${tenantId}`)) {
      out.add(keyVersionOf(Buffer.from(r.ciphertext)));
    }
  }
  return out;
}
