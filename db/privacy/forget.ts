/**
 * "privacy forget me": the requesting user's id becomes the tenant's keyed pseudonym
 * (Sealer.pseudonym, `pn:<hmac>`) everywhere the tenant's rows hold it, in one transaction:
 *   audit_events  actor → its actor_ref (the hash covers the pseudonym, db/audit.ts), and any
 *                 event whose data mentions the user is erased to {"$erased":"forget_me"}
 *                 (the data digest stays, so the chain still verifies);
 *   other tables  every text/jsonb column (roles.user_id, actions.requested_by/decided_by,
 *                 params, results, LLM records, …) found by information_schema: the full id
 *                 (`slack:U123`) and the bare platform id as a whole word (`U123`, in mentions)
 *                 are replaced by the pseudonym. Id columns other than user_id are left alone.
 * Then one `privacy.forget_me` event (actor: the pseudonym) records the counts. Legacy audit
 * rows written before actor refs (data_digest null) are rewritten too; their links then no
 * longer verify, which verify reports — no such rows exist after migration 0003.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { appendAudit, lockAudit, withAuditMaintenance } from '../audit.ts';
import type { Sealer } from '../crypto.ts';
import { auditEvents } from '../schema/index.ts';
import { ident, query, tenantTables } from './tables.ts';

const SKIP_TABLES = new Set(['audit_events', 'analytics_events', 'audit_heads', 'audit_checkpoints', 'tenant_keys', 'tenant_secrets']);
const SKIP_COLUMNS = new Set(['id', 'tenant_id', 'hash', 'prev_hash']);

/** The platform-local part of `platform:id` (what a mention in text shows). */
export const bareId = (userId: string) => (userId.includes(':') ? userId.slice(userId.indexOf(':') + 1) : userId);
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface ForgetReport { pseudonym: string; auditActors: number; auditErased: number; rows: Record<string, number> }

export async function forgetUser(db: Db, sealer: Sealer, tenantId: string, userId: string, now: Date): Promise<ForgetReport> {
  const pn = await sealer.pseudonym(tenantId, userId);
  const bare = bareId(userId);
  const word = `\\m${reEscape(bare)}\\M`;
  const tables = await tenantTables(db);
  const report = await withAuditMaintenance(db, async (tx) => {
    await lockAudit(tx, tenantId);
    const actors = await tx.update(auditEvents).set({ actor: pn })
      .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.actor, userId))).returning({ id: auditEvents.id });
    const mentions = sql`(strpos(${auditEvents.data}::text, ${userId}) > 0 or ${auditEvents.data}::text ~ ${word})`;
    const erased = await tx.update(auditEvents).set({ data: { $erased: 'forget_me' } })
      .where(and(eq(auditEvents.tenantId, tenantId), mentions))
      .returning({ id: auditEvents.id });
    const rows: Record<string, number> = {};
    for (const t of tables) {
      if (SKIP_TABLES.has(t.name)) continue;
      for (const c of t.columns) {
        if (SKIP_COLUMNS.has(c.name) || (c.name.endsWith('_id') && c.name !== 'user_id')) continue;
        const isJson = c.type === 'jsonb' || c.type === 'json';
        if (!isJson && c.type !== 'text' && c.type !== 'character varying') continue;
        const col = isJson ? sql`${ident(c.name)}::text` : ident(c.name);
        const replaced = sql`regexp_replace(replace(${col}, ${userId}, ${pn}), ${word}, ${pn}, 'g')`;
        const r = await query(tx, sql`update ${ident(t.name)} set ${ident(c.name)} = ${isJson ? sql`${replaced}::${sql.raw(c.type)}` : replaced}
          where tenant_id = ${tenantId} and (strpos(${col}, ${userId}) > 0 or ${col} ~ ${word}) returning 1 as ok`);
        if (r.length) rows[`${t.name}.${c.name}`] = r.length;
      }
    }
    return { pseudonym: pn, auditActors: actors.length, auditErased: erased.length, rows };
  });
  await appendAudit(db, { tenantId, type: 'privacy.forget_me', actor: pn, data: { auditActors: report.auditActors, auditErased: report.auditErased, rows: report.rows } }, now, sealer);
  return report;
}
