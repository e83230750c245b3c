/**
 * Key material, audit anchors and pseudonymous analytics (issue 8; db/crypto.ts and
 * db/audit.ts own the formats). Nothing here holds a plaintext secret or a raw user id:
 * tenant keys are wrapped by the master key, tenant secrets sealed under the tenant key,
 * audit heads and checkpoints carry an HMAC under a key derived from the master key.
 */
import { bigint, bigserial, customType, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './index.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Every version of a tenant's data key, wrapped by the master key named by `master_kid`.
 * Old versions stay until no ciphertext names them (online rotation), then are deleted.
 * Deleting all rows of a tenant is its crypto-shredding.
 */
export const tenantKeys = pgTable(
  'tenant_keys',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    wrappedKey: bytea('wrapped_key').notNull(),
    /** Key id of the master key that wraps it ('legacy' for keys from before key ids). */
    masterKid: text('master_kid').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.version] })],
);

/**
 * Per-tenant random secrets sealed under the tenant key: `pseudonym` (forget-me and audit
 * actor refs, never rotated) and `analytics` (one per UTC day, deleted by retention so old
 * analytics refs can no longer be linked to anyone).
 */
export const tenantSecrets = pgTable(
  'tenant_secrets',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    version: text('version').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name, t.version] })],
);

/** The last (seq, hash) of a tenant's audit chain, signed: a truncated tail no longer matches it. */
export const auditHeads = pgTable('audit_heads', {
  tenantId: text('tenant_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  /** Master key id and HMAC; null only for appends made without keys (tests, tools). */
  kid: text('kid'),
  mac: text('mac'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** Where retention cut the front of a chain: verification restarts from (seq, hash). */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    tenantId: text('tenant_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
    kid: text('kid').notNull(),
    mac: text('mac').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.seq] })],
);

/** Usage events, keyed by an HMAC of the user id under that day's secret: never a raw id. */
export const analyticsEvents = pgTable(
  'analytics_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    userRef: text('user_ref').notNull(),
    platform: text('platform').notNull(),
    command: text('command').notNull(),
    outcome: text('outcome').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('analytics_events_tenant').on(t.tenantId, t.createdAt)],
);
