/**
 * One zod schema for the process environment, parsed in main (never at import). A bad
 * value stops start-up with one message naming every variable to fix; secret values are
 * never echoed, only their names.
 */
import { z } from 'zod';
import { HoistError } from './core/errors.ts';

const optionalUrl = (schemes: string[]) =>
  z.string().trim().min(1).refine((v) => {
    try { return schemes.includes(new URL(v).protocol.replace(':', '')); } catch { return false; }
  }, { message: `must be a URL (${schemes.join(', ')})` }).optional();

export const ConfigSchema = z.object({
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  HOIST_DATA_DIR: z.string().min(1).default('./.hoist'),
  HOIST_MASTER_KEY: z.string().refine((v) => Buffer.from(v, 'base64').length === 32, { message: 'must be 32 bytes, base64-encoded' }).optional(),
  /** Previous master key(s), comma-separated, accepted for unwrapping until `hoist keys rotate` re-wrapped everything. */
  HOIST_MASTER_KEY_PREVIOUS: z.string().refine((v) => v.split(',').every((k) => Buffer.from(k.trim(), 'base64').length === 32), { message: 'must be comma-separated 32-byte base64 keys' }).optional(),
  DOCKER_HOST: z.string().optional(),
  HOIST_PUBLISH_ADDRESS: z.string().default('127.0.0.1'),
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_APP_ID: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  HOIST_LLM_MODEL: z.string().optional(),
  SLACK_API_URL: z.string().url().optional(),
  DISCORD_API_URL: z.string().url().optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOIST_ADMINS: z.string().default('').transform((v, ctx) => {
    const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const id of ids) if (!/^(slack|discord|console):[A-Za-z0-9_.-]+$/.test(id)) {
      ctx.addIssue({ code: 'custom', message: `"${id}" is not platform:id (e.g. slack:U0123)` });
    }
    return ids;
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOIST_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Read-only jobs (status, logs) at a time per workers process, in their own lane beside the changes. */
  HOIST_READ_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /**
   * Extra deploy targets besides the default engine, comma-separated: `swarm` (the same engine
   * as a Swarm manager), `<env>=swarm`, or named engines `<name>=<docker host>` such as
   * `edge=tcp://10.0.0.5:2376?certs=/etc/hoist/edge` (TLS with ca.pem, cert.pem, key.pem from
   * that directory) or `staging=unix:///var/run/docker.sock`. An app deploys to the target
   * named like its environment, or to its own `target` setting.
   */
  /** Per-process cache of roles/settings/apps, invalidated by PostgreSQL NOTIFY (db/tenant-cache.ts); `off` behind a transaction-mode pooler. */
  HOIST_TENANT_CACHE: z.enum(['on', 'off']).default('on'),
  /** Prepared statements for repeated queries (db/client.ts): one round trip instead of two; `off` behind a transaction-mode pooler. */
  HOIST_PG_PREPARE: z.enum(['on', 'off']).default('on'),
  HOIST_TARGETS: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Stable endpoint ports (workers/proxy), one per app with a port, as lo-hi; `off` publishes replica ports only. */
  HOIST_PROXY_PORTS: z.string().trim().default('20000-20999').refine((v) => {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
    return v.toLowerCase() === 'off' || (!!m && Number(m[1]) >= 1 && Number(m[1]) <= Number(m[2]) && Number(m[2]) <= 65535);
  }, { message: 'must be a port range like 20000-20999, or off' }),
  /** Deployments per app whose image (Hoist-built ones) and config are kept for one-click rollback; older built images are removed. */
  HOIST_KEEP_DEPLOYMENTS: z.coerce.number().int().min(1).max(100).default(5),
  /** How long a switched endpoint waits for connections to old replicas to finish before they are stopped. */
  HOIST_PROXY_DRAIN_MS: z.coerce.number().int().min(0).default(10_000),
  /** Registries every workspace may pull from (hosts, `default` for Docker's default registry, or `*`); local images are always allowed. */
  HOIST_ALLOWED_REGISTRIES: z.string().default('').transform((v) => v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)),
  HOIST_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Chat requests per user / per tenant (workspace, guild) per minute; beyond that a polite refusal (bot/infra/rate-limit.ts). */
  HOIST_RATE_LIMIT_USER: z.coerce.number().int().min(1).default(30),
  HOIST_RATE_LIMIT_TENANT: z.coerce.number().int().min(1).default(300),
  /** How long SIGTERM/SIGINT waits for running jobs and replies before exiting (bot/infra/shutdown.ts). */
  HOIST_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
  /** Longest an approved change waits for another change to the same app before failing. */
  HOIST_ROLLOUT_WAIT_MAX_MS: z.coerce.number().int().min(0).default(10 * 60_000),
  /** TEST ONLY (workers/deploy/checkpoint.ts): pause the worker at this step until <dir>/<step>.go exists. */
  HOIST_TEST_PAUSE_AT: z.enum(['after-create', 'after-start']).optional(),
  HOIST_TEST_PAUSE_DIR: z.string().optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

export type Mode = 'console' | 'bot' | 'workers' | 'start' | 'cli';

export function parseConfig(env: Record<string, string | undefined>, mode: Mode): Config {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = ConfigSchema.safeParse(clean);
  const problems: string[] = r.success ? [] : r.error.issues.map((i) => `${String(i.path[0])} ${i.message}`);
  if (mode !== 'console' && mode !== 'cli') {
    // Cross-field rules read the raw values, so one message lists every problem at once.
    const c = clean;
    const chat = c.SLACK_BOT_TOKEN || c.DISCORD_TOKEN;
    const has = (k: string) => problems.some((p) => p.startsWith(`${k} `));
    if (!c.HOIST_MASTER_KEY && (mode !== 'start' || chat)) problems.push('HOIST_MASTER_KEY is required outside console mode (32 random bytes, base64: openssl rand -base64 32)');
    if (mode !== 'start' && !c.DATABASE_URL && !has('DATABASE_URL')) problems.push('DATABASE_URL is required for separate bot/workers processes');
    if (mode !== 'start' && !c.REDIS_URL && !has('REDIS_URL')) problems.push('REDIS_URL is required for separate bot/workers processes');
    if (c.SLACK_BOT_TOKEN && !c.SLACK_SIGNING_SECRET && !c.SLACK_APP_TOKEN) problems.push('SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode) is required with SLACK_BOT_TOKEN');
    if (c.DISCORD_TOKEN && !c.DISCORD_APP_ID) problems.push('DISCORD_APP_ID is required with DISCORD_TOKEN');
  }
  if (problems.length) throw new HoistError('config_invalid', `Invalid configuration — fix: ${problems.join('; ')}`);
  return r.data!;
}
