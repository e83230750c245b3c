/**
 * The typed intent: what the offline grammar and the LLM both produce, and what
 * `hoist explain` prints. Absent fields are left out, never null. An env value is never
 * part of an intent: `set_env` carries the key and, at most, a sealed-secret placeholder.
 */
import { z } from 'zod';

export const ACTIONS = [
  'deploy', 'rollback', 'restart', 'stop', 'start', 'scale', 'set_env', 'unset_env',
  'status', 'apps', 'history', 'logs', 'privacy', 'grant', 'revoke', 'help', 'unknown',
] as const;
export type IntentAction = (typeof ACTIONS)[number];

export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const APP_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A deploy target (HOIST_TARGETS name, `swarm`, or `default` for the default engine). */
export const TARGET_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const IntentSchema = z
  .object({
    action: z.enum(ACTIONS),
    app: z.string().regex(APP_NAME).optional(),
    image: z.string().min(1).max(255).optional(),
    source: z.string().min(1).max(1000).optional(),
    ref: z.string().min(1).max(255).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    environment: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/).optional(),
    replicas: z.number().int().min(0).max(20).optional(),
    key: z.string().regex(ENV_KEY).optional(),
    /** Sealed-secret placeholder (⟦secret:N:kind⟧) standing for the env value. */
    value: z.string().regex(/^⟦secret:\d+:[a-z0-9_]+⟧$/).optional(),
    lines: z.number().int().min(1).max(1000).optional(),
    /** HTTP path the deploy's health gate GETs (deploy only), e.g. /healthz. */
    healthPath: z.string().regex(/^\/[!-~]{0,199}$/).optional(),
    /** Deploy target to run the app on from now on (deploy only): `default`, `swarm`, or a HOIST_TARGETS name. */
    target: z.string().regex(TARGET_NAME).optional(),
    deployment: z.string().min(1).max(64).optional(),
    request: z.enum(['show', 'export', 'forget_me']).optional(),
    user: z.string().min(1).max(128).optional(),
    role: z.enum(ROLES).optional(),
    /** Why the grammar could not read the message (unknown only). */
    reason: z.string().max(500).optional(),
  })
  .strict();
export type Intent = z.infer<typeof IntentSchema>;

/** Actions that change something and therefore need a confirmation card. */
export const MUTATING: ReadonlySet<IntentAction> = new Set([
  'deploy', 'rollback', 'restart', 'stop', 'start', 'scale', 'set_env', 'unset_env',
]);

/** Read-only actions that need the Docker engine, so they run in a worker. */
export const WORKER_READS: ReadonlySet<IntentAction> = new Set(['status', 'logs']);
