/**
 * Data rights end to end — bot + workers against real PostgreSQL, Redis and Docker:
 * a canary env value reaches no table, Redis key or value, log line or reply; `privacy`
 * answers with real settings and counts; export holds every category and nothing of
 * another tenant; forget-me leaves no raw id (pg_dump + grep) and the chain verifies;
 * tenant delete leaves zero rows, containers, networks, Redis keys and data keys.
 */
import { createPseudonym, WORKSPACE } from '../../workers/contract/pseudonym.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import type { ChatAdapter, ConversationRef, InboundMessage } from '../../bot/core/types.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import type { Services } from '../../bot/infra/services.ts';
import { startBot } from '../../bot/main.ts';
import { verifyAudit } from '../../db/audit.ts';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { tenantRowCounts } from '../../db/privacy/erase.ts';
import type { TenantExport } from '../../db/privacy/export.ts';
import { QUEUES, type ResultEvent } from '../../workers/contract/index.ts';
import { startWorkers } from '../../workers/main.ts';
import { deleteTenant } from '../../workers/maintenance/tenant-delete.ts';
import { RecordingAdapter } from '../fakes/recording-adapter.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';

const run = promisify(execFile);
const CANARY = `CnRy${randomBytes(9).toString('hex')}Zq`;
const forms = (s: string) => [s, Buffer.from(s).toString('base64').replace(/=+$/, ''), Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64url')];

/** Records files "DM'd" to users, like a platform with file upload. */
class UploadingAdapter extends RecordingAdapter {
  readonly files: Array<{ userId: string; filename: string; content: string }> = [];
  async upload(_conv: ConversationRef, userId: string, filename: string, content: string) { this.files.push({ userId, filename, content }); }
}

let fx: Awaited<ReturnType<typeof freshDatabase>>;
let dataDir: string;
let logFile: string;
let bot: Awaited<ReturnType<typeof startBot>>;
let workers: Awaited<ReturnType<typeof startWorkers>>;
let chat: UploadingAdapter;
let plain: RecordingAdapter;
let services: Services;
let sealer: Sealer;
const prefix = uid('bull-');
const docker = new Dockerode();
const A = `console:${uid('')}`;
const B = `slack:${uid('T')}`;
let n = 0;

function say(tenantId: string, user: string, text: string, platform: 'console' | 'slack' = 'console') {
  const conv = { platform, tenantId, channelId: 'test' } as const;
  const msg: InboundMessage = { platform, eventId: `e${++n}`, tenantId, userId: `${platform}:${user}`, text, conversation: conv, receivedAt: new Date() };
  return bot.pipeline.handleMessage(msg);
}
async function propose(tenantId: string, user: string, text: string, adapter: RecordingAdapter, platform: 'console' | 'slack' = 'console') {
  const before = adapter.said.length;
  await say(tenantId, user, text, platform);
  const card = adapter.said.slice(before).find((s) => s.msg?.kind === 'card');
  if (!card || card.msg?.kind !== 'card') throw new Error(`no card: ${adapter.said.slice(before).map((s) => s.text).join('\n')}`);
  return card.msg.card.actionId;
}
function approve(tenantId: string, user: string, actionId: string, platform: 'console' | 'slack' = 'console') {
  const conv = { platform, tenantId, channelId: 'test' } as const;
  return bot.pipeline.handleDecision({ platform, eventId: `d${++n}`, tenantId, userId: `${platform}:${user}`, actionId, decision: 'approve', conversation: conv });
}
async function pgDump(): Promise<string> {
  const r = await run('pg_dump', ['--data-only', '--no-owner', fx.url], { maxBuffer: 256 * 1024 * 1024 });
  return r.stdout;
}
async function redisDump(): Promise<string> {
  const r = new Redis(TEST_REDIS_URL);
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      cursor = next;
      for (const k of keys) {
        parts.push(k);
        const type = await r.type(k);
        if (type === 'string') parts.push(String(await r.get(k)));
        else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(k)));
        else if (type === 'list') parts.push(JSON.stringify(await r.lrange(k, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await r.smembers(k)));
        else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(k, '0', '-1')));
        else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(k, '-', '+')));
      }
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return parts.join('\n');
}

beforeAll(async () => {
  fx = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'hoist-privacy-'));
  logFile = join(dataDir, 'hoist.log');
  const masterKey = randomBytes(32);
  services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey, close: async () => undefined };
  const config = parseConfig({ DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, HOIST_DATA_DIR: dataDir, LOG_LEVEL: 'debug' }, 'cli');
  const logger = createLogger({ level: 'trace', file: logFile });
  chat = new UploadingAdapter('slack');
  plain = new RecordingAdapter('console');
  bot = await startBot({ config, services, logger, prefix, adapters: { console: plain, slack: chat as ChatAdapter } });
  workers = await startWorkers({ config, services, logger, prefix });
  sealer = new Sealer(fx.dbh.db, new Keyring(masterKey));
  await demoImage(docker, '1');
});
afterAll(async () => {
  await bot?.close();
  await workers?.close();
  for (const t of [A, B]) await cleanupTenant(docker, t).catch(() => undefined);
  await fx?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('privacy end to end (real PostgreSQL, Redis, Docker)', () => {
  it('a canary env value appears in no table, Redis key or value, log line or reply', async () => {
    const dep = await propose(A, 'alice', 'deploy web image hoist-demo/httpd:1 port 8080', plain);
    await approve(A, 'alice', dep);
    await plain.waitFor(/web is running on :\d+/);
    const set = await propose(A, 'alice', `set SECRET_TOKEN=${CANARY} on web`, plain);
    await approve(A, 'alice', set);
    await plain.waitFor(/✅ .*SECRET_TOKEN/);
    // The value reached the container (the documented exception: docker inspect, access-controlled).
    const [c] = await docker.listContainers({ filters: { label: [`hoist.tenant=${A}`] } });
    expect((await docker.getContainer(c!.Id).inspect()).Config.Env).toContain(`SECRET_TOKEN=${CANARY}`);
    await bot.idle(30_000);
    const sinks = { postgres: await pgDump(), redis: await redisDump(), logs: readFileSync(logFile, 'utf8'), replies: plain.all() };
    expect(sinks.postgres).toMatch(/SECRET_TOKEN/); // the name is stored, the value is not
    for (const [sink, text] of Object.entries(sinks)) for (const f of forms(CANARY)) expect(`${sink}: ${text.includes(f) ? f : ''}`).toBe(`${sink}: `);
  });

  it('privacy answers with this tenant\'s real retention settings and row counts', async () => {
    await say(A, 'alice', 'privacy');
    const m = await plain.waitFor(/What Hoist keeps about this workspace[\s\S]*About you \(console:alice\)[^\n]*/);
    expect(m[0]).toMatch(/1 apps, 2 deployments/);
    expect(m[0]).toMatch(/1 env var values, only as AES-256-GCM ciphertext/);
    expect(m[0]).toMatch(/audit events, hash-chained and append-only: 400 days/);
    expect(m[0]).toMatch(/usage events .* 365 days/);
  });

  it('privacy export (admin): every category, env var names only, nothing of another tenant; as a DM file or a local file', async () => {
    // Tenant B on Slack (with upload) has its own app, role and env var.
    const admin = 'UADMIN1';
    await bot.store.ensureTenant(B, 'slack');
    await bot.store.setRole(B, `slack:${admin}`, 'admin', 'bootstrap');
    const dep = await propose(B, admin, 'deploy bapp image hoist-demo/httpd:1 port 8080', chat, 'slack');
    await approve(B, admin, dep, 'slack');
    await chat.waitFor(/bapp is running on :\d+/);
    await say(B, admin, 'grant @UOTHER2 viewer', 'slack');
    await say(B, admin, 'privacy export', 'slack');
    await chat.waitFor(/I sent you the export/);
    const file = chat.files.at(-1)!;
    expect(file.userId).toBe(`slack:${admin}`);
    const doc = JSON.parse(file.content) as TenantExport;
    for (const t of ['apps', 'deployments', 'actions', 'audit_events', 'roles', 'env_vars', 'analytics_events', 'audit_heads']) expect(doc.tables, t).toHaveProperty(t);
    expect(doc.tables.apps!.map((a) => a.name)).toEqual(['bapp']);
    expect(doc.tables.roles!.map((r) => r.user_id).sort()).toEqual(['slack:UADMIN1', 'slack:UOTHER2']);
    expect(doc.tables.audit_events!.some((e) => e.type === 'privacy.export')).toBe(true);
    expect(doc.privacy.retention.auditDays).toBe(400);
    expect(file.content).not.toContain(A);
    expect(file.content).not.toContain('"web"');
    expect(doc.omitted.env_vars).toEqual(['ciphertext']);

    // Console (no upload): written under HOIST_DATA_DIR/exports, the path in the reply.
    await say(A, 'alice', 'privacy export');
    const m = await plain.waitFor(/Export written to (\S+\.json)/);
    expect(m[1]!.startsWith(join(dataDir, 'exports'))).toBe(true);
    const local = readFileSync(m[1]!, 'utf8');
    const docA = JSON.parse(local) as TenantExport;
    expect(docA.tables.env_vars!.map((e) => e.key)).toEqual(['SECRET_TOKEN']);
    expect(local).not.toContain(CANARY);
    expect(local).not.toContain(B);
  });

  it('hoist tenant export needs --reason and audits it', async () => {
    const env = { ...process.env, DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, HOIST_MASTER_KEY: services.masterKey.toString('base64'), HOIST_DATA_DIR: dataDir };
    const noReason = await run('node', ['bin/hoist.mjs', 'tenant', 'export', A], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((noReason as { code: number }).code).toBe(1);
    expect((noReason as { stderr: string }).stderr).toMatch(/--reason/);
    const out = join(dataDir, 'cli-export.json');
    const r = await run('node', ['bin/hoist.mjs', 'tenant', 'export', A, '--out', out, '--reason', 'support ticket 42'], { env });
    expect(r.stdout).toMatch(/exported \d+ rows/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as TenantExport;
    expect(doc.tables.audit_events!.find((e) => e.type === 'admin.export')?.data).toEqual({ reason: 'support ticket 42' });
  });

  it('privacy forget me: no raw id of the user left anywhere (PostgreSQL and Redis), roles and actions pseudonymized, the chain verifies', async () => {
    const user = `zq${randomBytes(4).toString('hex')}7`; // a distinctive id to grep for (with a digit, like platform ids)
    await bot.store.setRole(A, `console:${user}`, 'deployer', 'console:alice');
    const id = await propose(A, user, 'restart web', plain);
    await approve(A, 'alice', id);
    await plain.waitFor(new RegExp(`✅ .*restarted`));
    await say(A, 'alice', `grant @${user} approver`);
    // What Redis can hold of a user: a pending result job whose text names them (full id and a
    // bare mention), that job's log, a Hoist key named after them, a Hoist value with a TTL.
    const redis = new Redis(TEST_REDIS_URL);
    const results = new Queue<ResultEvent>(QUEUES.results, { connection: redis, prefix });
    try {
      const pending = await results.add('result', { actionId: id, tenantId: A, kind: 'progress', status: 'running', text: `waiting for <@${user}> (console:${user})`, seq: 99 }, { delay: 3_600_000 });
      await pending.log(`asked by console:${user}`);
      await redis.set(`${prefix}:seen:console:${user}`, '1');
      await redis.set(`${prefix}:cache:${A}`, JSON.stringify({ lastUser: `console:${user}` }), 'EX', 600);
      expect((await redisDump()).includes(user)).toBe(true);

      await say(A, user, 'privacy forget me');
      const m = await plain.waitFor(/your id is now the pseudonym (pn:[0-9a-f]{32})[^\n]*In the job queue, (\d+) entries now carry the pseudonym/);
      const dump = await pgDump();
      expect(dump.includes(user)).toBe(false);
      expect(dump).toContain(m[1]!);
      expect(await bot.store.getRole(A, m[1]!)).toBe('approver');
      expect((await bot.store.getAction(id))?.requestedBy).toBe(m[1]);
      expect(await verifyAudit(fx.dbh.db, A, sealer)).toMatchObject({ ok: true, unchecked: 0 });

      // Redis under this run's prefix: zero hits for the raw id; the pending job survives with the pseudonym.
      expect(Number(m[2])).toBeGreaterThanOrEqual(4);
      expect((await redisDump()).includes(user)).toBe(false);
      const after = await results.getJob(pending.id!);
      expect(after?.data.text).toBe(`waiting for <@${m[1]}> (${m[1]})`);
      expect(await redis.exists(`${prefix}:seen:console:${user}`)).toBe(0);
      expect(JSON.parse((await redis.get(`${prefix}:cache:${A}`))!)).toEqual({ lastUser: m[1] });
      expect(await redis.pttl(`${prefix}:cache:${A}`)).toBeGreaterThan(0);
      await after?.remove();
    } finally {
      await results.close();
      redis.disconnect();
    }
  });

  it('tenant delete: zero rows, containers, networks, Redis keys and data keys; a receipt; re-running is a no-op', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await redis.set(`${prefix}:ratelimit:${B}:UADMIN1`, '3');
      // The LLM stage's keys name the tenant only by its pseudonym (thread context, budgets).
      const workspace = createPseudonym(sealer.keyring.current.key)(B, WORKSPACE);
      const otherWorkspace = createPseudonym(sealer.keyring.current.key)(A, WORKSPACE);
      await redis.rpush(`${prefix}:llm:ctx:${workspace}:thread1`, '{"speaker":"x","text":"redacted","at":1}');
      await redis.set(`${prefix}:llm:rpm:t:${workspace}:1`, '2');
      await redis.set(`${prefix}:llm:rpm:t:${otherWorkspace}:1`, '2');
      expect((await docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${B}`] } })).length).toBeGreaterThan(0);
      const receipt = await deleteTenant({ db: fx.dbh.db, sealer, deployer: workers.deployer, redis, prefix, clock: { now: () => new Date() }, tenantId: B, reason: 'customer offboarding', operator: 'operator:test' });
      expect(receipt.containersRemoved).toBe(1);
      expect(receipt.dataKeysDestroyed).toBeGreaterThanOrEqual(1);
      expect(receipt.rows.audit_events).toBeGreaterThan(0);
      expect(receipt.redisKeysRemoved).toBeGreaterThanOrEqual(1);
      expect(Object.values(await tenantRowCounts(fx.dbh.db, B)).every((x) => x === 0)).toBe(true);
      expect(await docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${B}`] } })).toHaveLength(0);
      expect(await docker.listNetworks({ filters: { label: [`hoist.tenant=${B}`] } })).toHaveLength(0);
      const [, keys] = await redis.scan('0', 'MATCH', `*${B}*`, 'COUNT', 10_000);
      expect(keys).toHaveLength(0);
      expect((await redisDump()).includes(B)).toBe(false);
      expect(await redis.exists(`${prefix}:llm:ctx:${workspace}:thread1`, `${prefix}:llm:rpm:t:${workspace}:1`)).toBe(0);
      expect(await redis.exists(`${prefix}:llm:rpm:t:${otherWorkspace}:1`)).toBe(1);
      // The other tenant is untouched and every remaining chain (incl. the operator chain) verifies.
      expect((await docker.listContainers({ filters: { label: [`hoist.tenant=${A}`] } })).length).toBe(1);
      expect(await verifyAudit(fx.dbh.db, undefined, sealer)).toMatchObject({ ok: true });
      const again = await deleteTenant({ db: fx.dbh.db, sealer, deployer: workers.deployer, redis, prefix, clock: { now: () => new Date() }, tenantId: B, reason: 'again', operator: 'operator:test' });
      expect(again.containersRemoved + again.redisKeysRemoved + Object.values(again.rows).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
