/**
 * The PrivacyPort (bot/core/ports.ts) over Postgres: content mode, pseudonymous usage
 * analytics, the `privacy` answer with real retention settings and row counts, export and
 * forget-me. Built in the composition roots and injected into the pipeline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { and, count, eq, or, sql } from 'drizzle-orm';
import type { PrivacyPort } from '../../bot/core/ports.ts';
import type { Db } from '../client.ts';
import { appendAudit } from '../audit.ts';
import { groupCommit } from '../group-commit.ts';
import type { Sealer } from '../crypto.ts';
import { actions, analyticsEvents, apps, auditEvents, deployments, envVars, roles } from '../schema/index.ts';
import { exportTenant } from './export.ts';
import { forgetUser } from './forget.ts';
import { readTenantSettings } from '../repo.ts';
import { cachedRead } from '../tenant-cache.ts';
import { getPrivacySettings, privacySettingsOf } from './settings.ts';
import { query, tableExists } from './tables.ts';

export interface PrivacyServiceDeps {
  db: Db;
  sealer: Sealer;
  clock: { now(): Date };
  /** Directory for exports written locally (console): HOIST_DATA_DIR/exports. */
  exportDir: string;
  /**
   * forget-me beyond PostgreSQL: replaces the user's raw id in Redis (job data, Hoist keys)
   * with the pseudonym; returns how many keys changed (bot/infra/redis-forget.ts).
   */
  forgetRedis?: (tenantId: string, userId: string, pseudonym: string) => Promise<number>;
}

export const exportFilename = (tenantId: string, now: Date) =>
  `${tenantId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${now.toISOString().replace(/[:.]/g, '-')}.json`;

/**
 * Usage rows by group commit (db/group-commit.ts): rows that arrive while an insert is in flight
 * go together in the next one, as one JSON parameter (the same prepared statement for any number
 * of rows); a refused row fails alone.
 */
function usageWriter(db: Db) {
  type Row = typeof analyticsEvents.$inferInsert;
  const add = groupCommit(async (rows: Row[]) => {
    await db.execute(sql`insert into analytics_events (tenant_id, user_ref, platform, command, outcome, latency_ms, created_at)
      select v.tenant_id, v.user_ref, v.platform, v.command, v.outcome, v.latency_ms, coalesce(v.created_at, now())
      from json_to_recordset(${JSON.stringify(rows.map((r) => ({
        tenant_id: r.tenantId, user_ref: r.userRef, platform: r.platform, command: r.command, outcome: r.outcome, latency_ms: r.latencyMs,
        created_at: r.createdAt instanceof Date ? r.createdAt.toISOString() : null,
      })))}::json) as v(tenant_id text, user_ref text, platform text, command text, outcome text, latency_ms integer, created_at timestamptz)`);
    return rows.map(() => undefined);
  });
  return { add };
}

export function createPrivacyService(d: PrivacyServiceDeps): PrivacyPort {
  const n = async (q: Promise<Array<{ n: number }>>) => Number((await q)[0]?.n ?? 0);
  const usage = usageWriter(d.db);
  return {
    async contentMode(tenantId) {
      // Through the tenant cache when the bot attached one (invalidated by PostgreSQL on every change).
      // The parsed mode is what is kept: no schema validation per message.
      return cachedRead(d.db, tenantId, 'contentMode', async () => privacySettingsOf(await readTenantSettings(d.db, tenantId)).contentMode);
    },

    async recordUsage(e) {
      const now = d.clock.now();
      const userRef = await d.sealer.analyticsRef(e.tenantId, e.userId, now);
      await usage.add({
        tenantId: e.tenantId, userRef, platform: e.platform, command: e.command, outcome: e.outcome, latencyMs: Math.max(0, Math.round(e.latencyMs)), createdAt: now,
      });
    },

    async describe(tenantId, userId) {
      const s = await getPrivacySettings(d.db, tenantId);
      const r = s.retention;
      const db = d.db;
      const pn = await d.sealer.pseudonym(tenantId, userId);
      const c = {
        apps: await n(db.select({ n: count() }).from(apps).where(eq(apps.tenantId, tenantId))),
        deployments: await n(db.select({ n: count() }).from(deployments).where(eq(deployments.tenantId, tenantId))),
        actions: await n(db.select({ n: count() }).from(actions).where(eq(actions.tenantId, tenantId))),
        envVars: await n(db.select({ n: count() }).from(envVars).where(eq(envVars.tenantId, tenantId))),
        audit: await n(db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.tenantId, tenantId))),
        analytics: await n(db.select({ n: count() }).from(analyticsEvents).where(eq(analyticsEvents.tenantId, tenantId))),
        roles: await n(db.select({ n: count() }).from(roles).where(eq(roles.tenantId, tenantId))),
        llm: (await tableExists(db, 'llm_requests'))
          ? Number((await query<{ n: string }>(db, sql`select count(*) as n from llm_requests where tenant_id = ${tenantId}`))[0]?.n ?? 0) : 0,
      };
      const mine = {
        role: (await db.select({ role: roles.role }).from(roles).where(and(eq(roles.tenantId, tenantId), eq(roles.userId, userId))))[0]?.role,
        requested: await n(db.select({ n: count() }).from(actions).where(and(eq(actions.tenantId, tenantId), eq(actions.requestedBy, userId)))),
        audit: await n(db.select({ n: count() }).from(auditEvents).where(and(eq(auditEvents.tenantId, tenantId), or(eq(auditEvents.actor, userId), eq(auditEvents.actorRef, pn))))),
      };
      return [
        'What Hoist keeps about this workspace, and for how long:',
        `  • ${c.apps} apps, ${c.deployments} deployments, ${c.actions} actions (who asked, who approved, what ran) — kept while the workspace exists;`,
        `    their result text and deployment errors (which can include container log lines) for ${r.deploymentLogDays} days;`,
        s.contentMode === 'minimal'
          ? '  • message text: none at all (minimal content mode) — only what was asked for, as action metadata;'
          : `  • message text, redacted (secrets replaced by placeholders), and parsed intents: ${r.chatDays} days;`,
        ...(s.contentMode === 'minimal' ? [] : ['    when a language model is on: the thread\'s last few redacted messages (people as pseudonyms) in Redis, for context, gone 30 minutes after the thread\'s last message;']),
        `  • ${c.llm} records of what was sent to a language model: ${r.llmDays} days;`,
        `  • ${c.audit} audit events, hash-chained and append-only: ${r.auditDays} days, then cut with a signed checkpoint;`,
        `  • ${c.envVars} env var values, only as AES-256-GCM ciphertext under this workspace's own key; chat secrets until their action ends;`,
        `  • ${c.analytics} usage events (command, outcome, latency) keyed by a daily-rotating keyed hash of the user, never an id: ${r.analyticsDays} days;`,
        `  • ${c.roles} role grants.`,
        `About you (${userId}): role ${mine.role ?? 'none granted'}, ${mine.requested} actions requested, ${mine.audit} audit events.`,
        'Say "privacy export" (admins) for all of it as a JSON file, or "privacy forget me" to replace your id with a pseudonym everywhere.',
      ].join('\n');
    },

    async exportTenant(tenantId, requestedBy) {
      const now = d.clock.now();
      // Audited first, so the export contains its own access event.
      await appendAudit(d.db, { tenantId, type: 'privacy.export', actor: requestedBy, data: { via: 'chat' } }, now, d.sealer);
      const doc = await exportTenant(d.db, tenantId, now);
      return { filename: exportFilename(tenantId, now), content: `${JSON.stringify(doc, null, 2)}\n` };
    },

    async saveExport(file) {
      const dir = resolve(d.exportDir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, file.filename);
      await writeFile(path, file.content, { mode: 0o600, flag: 'wx' });
      return path;
    },

    async forgetMe(tenantId, userId) {
      const r = await forgetUser(d.db, d.sealer, tenantId, userId, d.clock.now());
      const rows = Object.values(r.rows).reduce((a, b) => a + b, 0);
      let queue = '';
      if (d.forgetRedis) {
        try {
          const keys = await d.forgetRedis(tenantId, userId, r.pseudonym);
          queue = ` In the job queue, ${keys} entr${keys === 1 ? 'y' : 'ies'} now carry the pseudonym instead.`;
        } catch {
          // The database part is done and re-running is harmless: say so rather than fail the whole request.
          queue = ' The job queue (Redis) could not be cleaned just now: say "privacy forget me" again in a minute to finish.';
        }
      }
      return `Done: your id is now the pseudonym ${r.pseudonym} in ${r.auditActors} audit events and ${rows} other records; `
        + `${r.auditErased} audit entries that mentioned you had their content erased. The audit chain still verifies.${queue}`;
    },
  };
}
