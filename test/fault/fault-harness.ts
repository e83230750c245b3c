/**
 * Fault-test harness: Hoist against PRIVATE PostgreSQL and Redis (test/fixtures/private-
 * services.ts) that the test may stop, flush and restart, and the shared Docker engine
 * (never restarted; cut through a socket proxy instead). The bot runs in-process with a
 * RecordingAdapter (every action gets its own thread) or with the real Slack HTTP adapter
 * and a fake Slack Web API; workers run in-process or as child processes that can be
 * SIGKILLed. `invariants()` is the checker every fault test ends with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { parseConfig, type Config } from '../../bot/config.ts';
import type { ConversationRef, Decision, InboundMessage } from '../../bot/core/types.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import type { Services } from '../../bot/infra/services.ts';
import { startBot } from '../../bot/main.ts';
import { verifyAudit } from '../../db/audit.ts';
import { createDb, type DbHandle } from '../../db/client.ts';
import { startWorkers, type WorkerOptions } from '../../workers/main.ts';
import { RecordingAdapter } from '../fakes/recording-adapter.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { SlackSender } from '../fakes/slack-signer.ts';
import { cleanupTenant } from '../fixtures/images.ts';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../fixtures/private-services.ts';

export const CHANNEL_FOR_TEST = 'C0FAULT';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try { if (await cond()) return; } catch { /* a service may be down mid-fault */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export const rowsOf = <T>(r: unknown): T[] => (Array.isArray(r) ? r : ((r as { rows?: T[] }).rows ?? [])) as T[];

/** Short timings everywhere, so recovery happens within seconds. */
export const FAST_OUTBOX: NonNullable<Exclude<WorkerOptions['outbox'], false>> = {
  relay: { intervalMs: 100 },
  reconcile: { intervalMs: 1_000, graceMs: 1_000, reportGraceMs: 2_000 },
};

export interface FaultOptions {
  slack?: boolean;
  /** In-process workers (default true); false: start child processes with spawnWorker(). */
  workers?: boolean;
  dockerHost?: string;
  /** Chat requests per user per minute (default high enough never to trigger). */
  rateLimitUser?: number;
}

export async function startFault(o: FaultOptions = {}) {
  const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const dbh = await createDb({ url: pg.url, max: 20 });
  await dbh.migrate();
  const prefix = `f${randomBytes(3).toString('hex')}`;
  const team = `T${randomBytes(4).toString('hex').toUpperCase()}`;
  const tenantId = o.slack ? `slack:${team}` : `console:${team}`;
  const masterKey = randomBytes(32);
  const services: Services = { dbh, redisUrl: redis.url, masterKey, close: async () => undefined };
  const signingSecret = randomBytes(16).toString('hex');
  const api = o.slack ? await new FakeSlackApi({ botUserId: 'UHOIST', botId: 'BHOIST', teamId: team }).start() : undefined;
  const config: Config = parseConfig({
    DATABASE_URL: pg.url, REDIS_URL: redis.url, LOG_LEVEL: 'silent', DOCKER_HOST: o.dockerHost,
    HOIST_RATE_LIMIT_USER: String(o.rateLimitUser ?? 1000), HOIST_RATE_LIMIT_TENANT: '10000',
    ...(api ? { SLACK_BOT_TOKEN: 'xoxb-fault', SLACK_SIGNING_SECRET: signingSecret, SLACK_API_URL: api.apiUrl } : {}),
  }, 'cli');
  const logger = createLogger({ level: (process.env.DBG_LOG as 'silent') ?? 'silent' });
  const chat = new RecordingAdapter('console');
  const bot = await startBot({
    config, services, logger, prefix, adapters: api ? {} : { console: chat },
    ...(api ? { http: { port: 0, host: '127.0.0.1' }, slack: { botId: 'BHOIST', botUserId: 'UHOIST', retryConfig: { retries: 0 } } } : {}),
  });
  const workerOpts: WorkerOptions = {
    config, services, logger, prefix, reconcile: false, retention: false, outbox: FAST_OUTBOX,
    workerTiming: { lockDuration: 1500, stalledInterval: 500 }, lease: { ttlMs: 3_000, renewMs: 500, retryMs: 300 },
  };
  const workers = o.workers === false ? undefined : await startWorkers(workerOpts);
  const sender = api ? new SlackSender(`${bot.http!.url}/slack/events`, signingSecret, team) : undefined;
  const docker = new Dockerode();
  const children: ChildProcess[] = [];
  let n = 0;
  await bot.store.ensureTenant(tenantId, o.slack ? 'slack' : 'console');

  const h = {
    pg, redis, dbh, services, config, prefix, bot, workers, chat, api, sender, tenantId, docker, masterKey, workerOpts,
    conv(thread: string): ConversationRef {
      return { platform: 'console', tenantId, channelId: 'fault', threadId: thread };
    },
    say(user: string, text: string, thread = `th${++n}`): Promise<void> {
      const msg: InboundMessage = { platform: 'console', eventId: `e${++n}`, tenantId, userId: `console:${user}`, text, conversation: h.conv(thread), receivedAt: new Date() };
      return bot.pipeline.handleMessage(msg);
    },
    /** Posts the message in a thread of its own; returns the card's action id. */
    async propose(user: string, text: string): Promise<string> {
      const thread = `th${++n}`;
      await h.say(user, text, thread);
      const card = chat.said.find((s) => s.conv.threadId === thread && s.msg?.kind === 'card');
      if (!card || card.msg?.kind !== 'card') throw new Error(`no card for "${text}": ${chat.said.filter((s) => s.conv.threadId === thread).map((s) => s.text).join(' | ')}`);
      return card.msg.card.actionId;
    },
    approve(user: string, actionId: string): Promise<void> {
      const thread = chat.said.find((s) => s.msg?.kind === 'card' && s.msg.card.actionId === actionId)?.conv.threadId;
      const d: Decision = { platform: 'console', eventId: `d${++n}`, tenantId, userId: `console:${user}`, actionId, decision: 'approve', conversation: h.conv(thread ?? 'x') };
      return bot.pipeline.handleDecision(d);
    },
    async spawnWorker(env: Record<string, string> = {}): Promise<ChildProcess> {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fault/worker-proc.ts'], {
        cwd: join(import.meta.dirname, '../..'),
        env: { ...process.env, DATABASE_URL: pg.url, REDIS_URL: redis.url, BULL_PREFIX: prefix, HOIST_MASTER_KEY: masterKey.toString('base64'), LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
        child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
      });
      return child;
    },
    async actions(ids?: string[]) {
      const all = rowsOf<{ id: string; status: string; app: string | null; kind: string; reported_at: Date | null; thread: string | null }>(
        await dbh.db.execute(sql`select id, status, app, kind, reported_at, conversation->>'threadId' as thread from actions where decided_at is not null order by created_at`));
      return ids ? all.filter((a) => ids.includes(a.id)) : all;
    },
    /** Result messages (✅/❌) posted in an action's thread, from whichever chat this harness uses. */
    resultsFor(thread: string | null): number {
      if (api) return api.of('chat.postMessage').filter((c) => c.body.thread_ts === thread && /^[✅❌]/.test(String(c.body.text ?? ''))).length;
      return chat.said.filter((s) => s.op === 'post' && s.conv.threadId === thread && /^[✅❌]/.test(s.text)).length;
    },
    async waitTerminal(ids: string[], timeoutMs = 90_000) {
      let last = '';
      await until(async () => {
        const acts = await h.actions(ids);
        last = acts.map((a) => `${a.id}:${a.kind}:${a.status}:${a.reported_at ? 'reported' : 'unreported'}`).join(', ');
        return acts.length === ids.length && acts.every((a) => ['succeeded', 'failed'].includes(a.status) && a.reported_at);
      }, `${ids.length} actions to finish and be reported`, timeoutMs).catch((e: Error) => { throw new Error(`${e.message}; last seen: ${last}`); });
    },
    /**
     * The invariant of every fault test: each approved action reached exactly one terminal
     * state (one action.succeeded|failed audit event), at most one rollout per app ran at a
     * time (action.started…finished intervals per app never overlap, and one deployment per
     * action), the thread got exactly one result message, and the audit chain verifies.
     */
    async invariants(ids: string[]) {
      const acts = await h.actions(ids);
      expect(acts).toHaveLength(ids.length);
      for (const a of acts) expect(['succeeded', 'failed'], `${a.id} ${a.kind} is ${a.status}`).toContain(a.status);
      const ev = rowsOf<{ action_id: string; type: string; seq: number }>(await dbh.db.execute(sql`
        select action_id, type, seq from audit_events where action_id is not null and type in ('action.started', 'action.succeeded', 'action.failed') order by tenant_id, seq`));
      for (const id of ids) {
        const terminal = ev.filter((e) => e.action_id === id && e.type !== 'action.started');
        expect(terminal.length, `terminal audit events of ${id}`).toBe(1);
      }
      // One rollout per app at a time: between an action's start and its end no other action of the same app started.
      const appOf = new Map(acts.map((a) => [a.id, a.app]));
      const open = new Map<string, string>();
      for (const e of ev) {
        const app = appOf.get(e.action_id);
        if (!app || !['deploy', 'rollback', 'scale', 'restart', 'stop', 'start', 'set_env', 'unset_env'].includes(acts.find((a) => a.id === e.action_id)!.kind)) continue;
        if (e.type === 'action.started') {
          expect(open.get(app), `two rollouts of ${app} overlapped`).toBeUndefined();
          open.set(app, e.action_id);
        } else if (open.get(app) === e.action_id) open.delete(app);
      }
      const deps = rowsOf<{ action_id: string; n: number }>(await dbh.db.execute(sql`select action_id, count(*)::int as n from deployments group by action_id`));
      for (const d of deps) expect(d.n, `deployments of ${d.action_id}`).toBe(1);
      for (const a of acts) expect(h.resultsFor(a.thread), `result messages for ${a.id} (${a.kind})`).toBe(1);
      const audit = await verifyAudit(dbh.db);
      expect(audit.ok, JSON.stringify(audit.firstBad)).toBe(true);
    },
    async stop() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await bot.slack?.drain();
      await bot.close().catch(() => undefined);
      await workers?.close(2_000).catch(() => undefined);
      await api?.close();
      await cleanupTenant(docker, tenantId).catch(() => undefined);
      await dbh.close().catch(() => undefined);
      await Promise.all([pg.destroy(), redis.stop()]);
    },
  };
  return h;
}

export type FaultHarness = Awaited<ReturnType<typeof startFault>>;
export type { PrivatePostgres, PrivateRedis, DbHandle };
