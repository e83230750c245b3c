/**
 * Deploy-engine state beyond apps and deployments: the per-app rollout lease. One row per
 * (tenant, app) at most; a worker holds it while it rolls out and renews `expires_at`, so a
 * killed worker's lease simply runs out and the next action takes it over.
 */
import { index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './index.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const deployLeases = pgTable(
  'deploy_leases',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    app: text('app').notNull(),
    /** Action id of the holder: a re-run of the same action (after a crash) takes it back at once. */
    holder: text('holder').notNull(),
    acquiredAt: ts('acquired_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.app] }), index('deploy_leases_expires').on(t.expiresAt)],
);
