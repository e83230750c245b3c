/**
 * The whole schema. Every tenant-owned row carries tenant_id. Env values and sealed
 * chat secrets are stored only as ciphertext (see db/crypto.ts); nothing here holds a
 * plaintext secret. Audit events are hash-chained per tenant (db/audit.ts).
 */
import { sql } from 'drizzle-orm';
import {
  bigserial, bigint, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  platform: text('platform').notNull(),
  /** Current data key version (the keys themselves live wrapped in tenant_keys, db/crypto.ts). */
  keyVersion: integer('key_version').notNull().default(1),
  settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const roles = pgTable(
  'roles',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    role: text('role').notNull(),
    grantedBy: text('granted_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

export const apps = pgTable(
  'apps',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    image: text('image').notNull(),
    port: integer('port'),
    environment: text('environment').notNull().default('default'),
    replicas: integer('replicas').notNull().default(1),
    /** Desired state: running or stopped. */
    desired: text('desired').notNull().default('running'),
    currentDeploymentId: text('current_deployment_id'),
    /** Deploy settings: source, ref, dockerfile, healthPath, target (workers/deploy). */
    settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
    /** Stable published port of the app's endpoint (workers/proxy), allocated once; unique per installation. */
    endpointPort: integer('endpoint_port'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] }), uniqueIndex('apps_endpoint_port').on(t.endpointPort)],
);

export const envVars = pgTable(
  'env_vars',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    app: text('app').notNull(),
    key: text('key').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.app, t.key] })],
);

export const actions = pgTable(
  'actions',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    app: text('app'),
    /** The validated intent (redacted: placeholders only, never values). */
    params: jsonb('params').notNull(),
    requestedBy: text('requested_by').notNull(),
    /** pending → approved → running → succeeded|failed; pending → cancelled|expired. */
    status: text('status').notNull(),
    conversation: jsonb('conversation').notNull(),
    environment: text('environment'),
    expiresAt: ts('expires_at').notNull(),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    enqueuedAt: ts('enqueued_at'),
    finishedAt: ts('finished_at'),
    deploymentId: text('deployment_id'),
    result: text('result'),
    /** Set once by the reporter before it posts the result: a replayed result event never posts twice. */
    reportedAt: ts('reported_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('actions_tenant_status').on(t.tenantId, t.status),
    index('actions_tenant_app').on(t.tenantId, t.app, t.createdAt),
  ],
);

export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    app: text('app').notNull(),
    actionId: text('action_id').notNull(),
    kind: text('kind').notNull(),
    image: text('image').notNull(),
    port: integer('port'),
    replicas: integer('replicas').notNull(),
    envKeys: jsonb('env_keys').notNull().default(sql`'[]'::jsonb`),
    /** running → succeeded|failed; a later success marks the previous one superseded. */
    status: text('status').notNull(),
    hostPorts: jsonb('host_ports').notNull().default(sql`'[]'::jsonb`),
    /** Git source (URL without credentials) and the commit built, for source deploys. */
    source: text('source'),
    commitSha: text('commit_sha'),
    /** Rollout config kept for one-click rollback: healthPath, target. */
    config: jsonb('config').notNull().default(sql`'{}'::jsonb`),
    error: text('error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('deployments_tenant_app').on(t.tenantId, t.app, t.createdAt)],
);

/** Chat secrets caught by redaction, sealed and bound to one action; purged when it ends. */
export const sealedSecrets = pgTable(
  'sealed_secrets',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    actionId: text('action_id').notNull(),
    placeholder: text('placeholder').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.actionId, t.placeholder] })],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    actionId: text('action_id'),
    actor: text('actor'),
    /** Keyed pseudonym of actor (db/audit.ts): the hash covers this, so forget-me can replace actor. */
    actorRef: text('actor_ref'),
    data: jsonb('data').notNull(),
    /** sha256 of canonical data; the hash covers this, so content can be erased and the chain still verifies. */
    dataDigest: text('data_digest'),
    createdAt: ts('created_at').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [uniqueIndex('audit_tenant_seq').on(t.tenantId, t.seq)],
);

/** Platform event ids already handled (Slack event_id, Discord interaction id): dedupe across restarts. */
export const processedEvents = pgTable(
  'processed_events',
  {
    platform: text('platform').notNull(),
    eventId: text('event_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.eventId] })],
);

/**
 * Transactional outbox (db/outbox.ts, workers/outbox/relay.ts): one row per approved action,
 * written in the same transaction as the approval; a relay publishes it to BullMQ (job id =
 * action id) and stamps published_at. Polled by the partial index on unpublished rows, never
 * by "id > last seen" (sequence values commit out of order).
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    actionId: text('action_id').notNull().references(() => actions.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Earliest next publish attempt (backoff after a failed publish). */
    availableAt: ts('available_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    publishedAt: ts('published_at'),
  },
  (t) => [
    uniqueIndex('outbox_action').on(t.actionId),
    index('outbox_unpublished').on(t.availableAt).where(sql`published_at is null`),
  ],
);

export * from './llm.ts';
export * from './deploy.ts';
export * from './privacy.ts';
