/**
 * Per-tenant privacy settings, stored in tenants.settings under `privacy`. Retention windows
 * are in days; a row older than its window (created_at < now − days) is removed or erased by
 * the retention job (db/privacy/retention.ts). Audit events are kept at least 90 days.
 * `contentMode: 'minimal'` stores no message text at all, only action metadata.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../client.ts';
import { tenants } from '../schema/index.ts';
import { invalidateTenant } from '../tenant-cache.ts';

export const DEFAULT_RETENTION = {
  /** Redacted chat text and parsed intents in audit events (LLM thread context is in Redis, 30 minutes: bot/llm/budget.ts). */
  chatDays: 90,
  /** What was sent to the LLM (llm_requests). */
  llmDays: 90,
  /** Action results (including container log output) and deployment errors. */
  deploymentLogDays: 90,
  analyticsDays: 365,
  auditDays: 400,
} as const;

export const MIN_AUDIT_DAYS = 90;
/** Finished BullMQ jobs (global: job data carries ids only). */
export const JOB_RETENTION_DAYS = 3;

const days = (min: number) => z.number().int().min(min).max(3650);

export const PrivacySettingsSchema = z.object({
  contentMode: z.enum(['full', 'minimal']).default('full'),
  retention: z.object({
    chatDays: days(1).default(DEFAULT_RETENTION.chatDays),
    llmDays: days(1).default(DEFAULT_RETENTION.llmDays),
    deploymentLogDays: days(1).default(DEFAULT_RETENTION.deploymentLogDays),
    analyticsDays: days(1).default(DEFAULT_RETENTION.analyticsDays),
    auditDays: days(MIN_AUDIT_DAYS).default(DEFAULT_RETENTION.auditDays),
  }).strict().prefault({}),
}).strict();
export type PrivacySettings = z.infer<typeof PrivacySettingsSchema>;
export type RetentionCategory = keyof PrivacySettings['retention'];

/** Effective settings from a tenants.settings value; anything invalid falls back to the defaults. */
export function privacySettingsOf(settings: unknown): PrivacySettings {
  const raw = (settings as { privacy?: unknown } | null)?.privacy ?? {};
  const r = PrivacySettingsSchema.safeParse(raw);
  return r.success ? r.data : PrivacySettingsSchema.parse({});
}

export async function getPrivacySettings(db: Db, tenantId: string): Promise<PrivacySettings> {
  const [t] = await db.select({ s: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId));
  return privacySettingsOf(t?.s);
}

/** Validates and stores a partial change; throws a zod error naming the bad field. */
export async function updatePrivacySettings(db: Db, tenantId: string, patch: { contentMode?: 'full' | 'minimal'; retention?: Partial<PrivacySettings['retention']> }): Promise<PrivacySettings> {
  const cur = await getPrivacySettings(db, tenantId);
  const next = PrivacySettingsSchema.parse({ ...cur, ...patch, retention: { ...cur.retention, ...patch.retention } });
  await db.update(tenants).set({ settings: sql`${tenants.settings} || ${JSON.stringify({ privacy: next })}::jsonb` }).where(eq(tenants.id, tenantId));
  invalidateTenant(db, tenantId);
  return next;
}

export const DAY_MS = 86_400_000;
export const cutoff = (now: Date, d: number) => new Date(now.getTime() - d * DAY_MS);
