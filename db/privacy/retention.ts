/**
 * Retention: what each tenant's settings promise (db/privacy/settings.ts), enforced. For each
 * tenant, rows older than their window (created_at < now − days; a row exactly at the window
 * stays) are removed, or for the audit log erased in place so the chain still verifies:
 *   chat      message.received / intent.parsed audit data → {"$erased":"retention"}; llm_thread_messages deleted
 *             (in minimal content mode: all of it, whatever its age)
 *   llm       llm_requests deleted
 *   deployment logs  actions.result and deployments.error cleared
 *   analytics analytics_events deleted; analytics secrets of past days deleted (refs become unlinkable)
 *   audit     events cut from the front with a signed checkpoint (db/audit.ts pruneAudit)
 * plus sealed chat secrets of finished actions and platform dedupe ids older than 7 days.
 * `now` is injected (the job passes its clock), so tests seed rows at 89/90/91 days.
 */
import { and, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { pruneAudit, withAuditMaintenance } from '../audit.ts';
import type { Sealer } from '../crypto.ts';
import { actions, analyticsEvents, auditEvents, auditHeads, deployments, processedEvents, sealedSecrets, tenants, tenantSecrets } from '../schema/index.ts';
import { cutoff, DAY_MS, privacySettingsOf } from './settings.ts';
import { ident, query, tableExists } from './tables.ts';

export const CHAT_EVENT_TYPES = ['message.received', 'intent.parsed'];
const TERMINAL = ['succeeded', 'failed', 'cancelled', 'expired'];
const DEDUPE_DAYS = 7;

export type RetentionCounts = Record<string, number>;

export async function runRetention(db: Db, sealer: Sealer, now: Date, opts: { tenantId?: string } = {}): Promise<Record<string, RetentionCounts>> {
  const rows = await db.select({ id: tenants.id, settings: tenants.settings }).from(tenants);
  const settingsById = new Map(rows.map((r) => [r.id, r.settings]));
  // Audit chains of tenants without a tenants row (tools, tests) get the defaults.
  for (const h of await db.select({ t: auditHeads.tenantId }).from(auditHeads)) if (!settingsById.has(h.t)) settingsById.set(h.t, {});
  const ids = opts.tenantId ? [opts.tenantId] : [...settingsById.keys()];
  const hasThreads = await tableExists(db, 'llm_thread_messages');
  const hasLlm = await tableExists(db, 'llm_requests');
  const out: Record<string, RetentionCounts> = {};
  for (const t of ids) {
    const s = privacySettingsOf(settingsById.get(t));
    const r = s.retention;
    const c: RetentionCounts = {};
    const chatCut = s.contentMode === 'minimal' ? now : cutoff(now, r.chatDays);
    c.chatEventsErased = await withAuditMaintenance(db, async (tx) => (await tx.update(auditEvents)
      .set({ data: { $erased: 'retention' } })
      .where(and(eq(auditEvents.tenantId, t), inArray(auditEvents.type, CHAT_EVENT_TYPES), isNotNull(auditEvents.dataDigest),
        lt(auditEvents.createdAt, chatCut), sql`not (${auditEvents.data} ? '$erased')`))
      .returning({ id: auditEvents.id })).length);
    if (hasThreads) c.threadMessages = await deleteOlder(db, 'llm_thread_messages', t, chatCut);
    if (hasLlm) c.llmRequests = await deleteOlder(db, 'llm_requests', t, cutoff(now, r.llmDays));
    const logCut = cutoff(now, r.deploymentLogDays);
    c.actionResults = (await db.update(actions).set({ result: null })
      .where(and(eq(actions.tenantId, t), isNotNull(actions.result), lt(actions.createdAt, logCut))).returning({ id: actions.id })).length;
    c.deploymentErrors = (await db.update(deployments).set({ error: null })
      .where(and(eq(deployments.tenantId, t), isNotNull(deployments.error), lt(deployments.createdAt, logCut))).returning({ id: deployments.id })).length;
    c.analyticsEvents = (await db.delete(analyticsEvents)
      .where(and(eq(analyticsEvents.tenantId, t), lt(analyticsEvents.createdAt, cutoff(now, r.analyticsDays)))).returning({ id: analyticsEvents.id })).length;
    c.analyticsSecrets = (await db.delete(tenantSecrets)
      .where(and(eq(tenantSecrets.tenantId, t), eq(tenantSecrets.name, 'analytics'), lt(tenantSecrets.version, now.toISOString().slice(0, 10))))
      .returning({ v: tenantSecrets.version })).length;
    c.sealedSecrets = (await db.delete(sealedSecrets).where(and(eq(sealedSecrets.tenantId, t), sql`${sealedSecrets.actionId} in
      (select ${actions.id} from ${actions} where ${actions.tenantId} = ${t} and ${inArray(actions.status, TERMINAL)})`)).returning({ a: sealedSecrets.actionId })).length;
    c.auditEvents = await pruneAudit(db, t, cutoff(now, r.auditDays), sealer.keyring);
    out[t] = c;
  }
  if (!opts.tenantId) {
    const gone = await db.delete(processedEvents).where(lt(processedEvents.createdAt, new Date(now.getTime() - DEDUPE_DAYS * DAY_MS))).returning({ e: processedEvents.eventId });
    out['*'] = { processedEvents: gone.length };
  }
  return out;
}

async function deleteOlder(db: Db, table: string, tenantId: string, before: Date): Promise<number> {
  return (await query(db, sql`delete from ${ident(table)} where tenant_id = ${tenantId} and created_at < ${before.toISOString()}::timestamptz returning 1 as ok`)).length;
}
