/**
 * Operator commands end to end: `node bin/hoist.mjs` as a child process against a fresh
 * PostgreSQL database, the real Redis and the real Docker engine.
 * - `hoist tenant delete <id> --yes --reason r`: refuses without a reason (or --yes) and
 *   touches nothing; with both, prints a receipt and leaves zero rows, containers, networks,
 *   Redis keys and BullMQ jobs of the tenant, another tenant untouched, the chains verifying.
 * - `hoist keys rotate --new-master` (data-directory keyring) and the HOIST_MASTER_KEY +
 *   HOIST_MASTER_KEY_PREVIOUS form: every sealed value readable with the new key alone,
 *   `hoist audit verify` passing with it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAudit } from '../../db/audit.ts';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { tenantRowCounts } from '../../db/privacy/erase.ts';
import { Store } from '../../db/repo.ts';
import { QUEUES } from '../../workers/contract/index.ts';
import { DockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';

const exec = promisify(execFile);
const docker = new Dockerode();

/** The environment without any master key of the developer's own. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.HOIST_MASTER_KEY;
  delete env.HOIST_MASTER_KEY_PREVIOUS;
  return { ...env, ...extra };
}

async function hoist(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('node', ['bin/hoist.mjs', ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function redisKeysNaming(redis: Redis, s: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${s}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

const rowsTotal = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('hoist tenant delete (CLI, real PostgreSQL, Redis, Docker)', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let redis: Redis;
  let actionsQueue: Queue;
  let env: NodeJS.ProcessEnv;
  let dataDir: string;
  const master = randomBytes(32);
  const T = `slack:${uid('T').toUpperCase()}`;
  const OTHER = `slack:${uid('T').toUpperCase()}`;
  const actionId = `act-${uid('')}`;

  beforeAll(async () => {
    fx = await freshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'hoist-admin-cli-'));
    redis = new Redis(TEST_REDIS_URL);
    // The CLI works on BullMQ's default prefix, as production does.
    actionsQueue = new Queue(QUEUES.actions, { connection: redis });
    env = baseEnv({ DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, HOIST_MASTER_KEY: master.toString('base64'), HOIST_DATA_DIR: dataDir });

    const db = fx.dbh.db;
    const store = new Store(db);
    const sealer = new Sealer(db, new Keyring(master));
    const now = new Date();
    for (const t of [T, OTHER]) {
      await store.ensureTenant(t, 'slack');
      await store.setRole(t, 'slack:UADMIN', 'admin', 'bootstrap');
      await store.upsertApp({ tenantId: t, name: 'web', image: 'hoist-demo/httpd:1', port: 8080 });
      await store.setEnvVar(t, 'web', 'API_TOKEN', await sealer.seal(t, 'env:web:API_TOKEN', `v-${randomBytes(6).toString('hex')}`));
      await appendAudit(db, { tenantId: t, type: 'deploy.requested', actor: 'slack:UADMIN', data: { app: 'web' } }, now, sealer);
      await appendAudit(db, { tenantId: t, type: 'deploy.approved', actor: 'slack:UADMIN', data: { app: 'web' } }, now, sealer);
    }
    await store.createAction({
      id: actionId, tenantId: T, kind: 'deploy', app: 'web', params: { intent: { action: 'deploy', app: 'web' } }, requestedBy: 'slack:UADMIN',
      status: 'succeeded', conversation: { platform: 'slack', tenantId: T, channelId: 'C1' }, expiresAt: now,
    });
    await store.createDeployment({ id: `dep-${actionId}`, tenantId: T, app: 'web', actionId, kind: 'deploy', image: 'hoist-demo/httpd:1', port: 8080, replicas: 1, status: 'succeeded' });

    // A real container (and the tenant's network), as the workers would have left them.
    const image = await demoImage(docker, '1');
    await new DockerDeployer(docker, { healthTimeoutMs: 20_000, stopTimeoutSec: 1 }).deploy(
      { tenantId: T, app: 'web', deploymentId: `dep-${actionId}`, actionId, image, port: 8080, replicas: 1, env: {} }, async () => undefined);

    // Redis: a Hoist key naming the tenant, a BullMQ job whose data names it (its key does not), and the other tenant's key.
    await redis.set(`hoist:slack-thread:${T}:C1:1700000000.000100`, '1', 'EX', 600);
    await actionsQueue.add('action', { actionId, tenantId: T }, { jobId: actionId, delay: 3_600_000 });
    await redis.set(`hoist:slack-thread:${OTHER}:C1:1700000000.000100`, '1', 'EX', 600);
  });

  afterAll(async () => {
    await actionsQueue?.getJob(actionId).then((j) => j?.remove());
    await actionsQueue?.close();
    await redis?.del(`hoist:slack-thread:${OTHER}:C1:1700000000.000100`);
    redis?.disconnect();
    for (const t of [T, OTHER]) await cleanupTenant(docker, t).catch(() => undefined);
    await fx?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses without --reason (and without --yes), exits non-zero and touches nothing', async () => {
    const before = rowsTotal(await tenantRowCounts(fx.dbh.db, T));
    const noReason = await hoist(['tenant', 'delete', T, '--yes'], env);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/--reason "<why>" is required/);
    expect(noReason.stdout).not.toMatch(/Deletion receipt/);
    const noYes = await hoist(['tenant', 'delete', T, '--reason', 'offboarding'], env);
    expect(noYes.code).not.toBe(0);
    expect(noYes.stderr).toMatch(/add --yes/);

    expect(rowsTotal(await tenantRowCounts(fx.dbh.db, T))).toBe(before);
    expect(await docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${T}`] } })).toHaveLength(1);
    expect((await actionsQueue.getJob(actionId))?.id).toBe(actionId);
    expect(await redisKeysNaming(redis, T)).toHaveLength(1);
  });

  it('deletes with --yes --reason: a receipt, and zero rows, containers, networks, Redis keys and jobs left', async () => {
    expect(await docker.listNetworks({ filters: { label: [`hoist.tenant=${T}`] } })).toHaveLength(1);
    const r = await hoist(['tenant', 'delete', T, '--yes', '--reason', 'customer offboarding'], env);
    expect(r.stderr).not.toMatch(/hoist:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Deletion receipt for tenant ${T}`);
    expect(r.stdout).toMatch(/reason: customer offboarding\s+operator: operator:/);
    expect(r.stdout).toMatch(/containers removed \(and the tenant network\): 1\n/);
    expect(Number(/Redis keys removed: (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/data key versions destroyed \(crypto-shredded\): (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/rows deleted: (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(8);

    const counts = await tenantRowCounts(fx.dbh.db, T);
    expect(Object.entries(counts).filter(([, n]) => n > 0)).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${T}`] } })).toHaveLength(0);
    expect(await docker.listNetworks({ filters: { label: [`hoist.tenant=${T}`] } })).toHaveLength(0);
    expect(await redisKeysNaming(redis, T)).toEqual([]);
    expect(await actionsQueue.getJob(actionId)).toBeUndefined();

    // The other tenant keeps everything; every remaining chain (with the operator chain) verifies.
    expect((await tenantRowCounts(fx.dbh.db, OTHER)).tenants).toBe(1);
    expect(await redisKeysNaming(redis, OTHER)).toHaveLength(1);
    const verify = await hoist(['audit', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/audit chain OK/);
    expect(await verifyAudit(fx.dbh.db, 'hoist:system', new Sealer(fx.dbh.db, new Keyring(master)))).toMatchObject({ ok: true, events: 1 });
  });
});

describe('hoist keys rotate (CLI, real PostgreSQL)', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let dataDir: string;
  const tenants = [`slack:${uid('T').toUpperCase()}`, `discord:${uid('')}`];
  const values = new Map<string, Record<string, string>>();
  const old = randomBytes(32);

  async function readAll(keyring: Keyring): Promise<Map<string, Record<string, string>>> {
    const sealer = new Sealer(fx.dbh.db, keyring);
    const store = new Store(fx.dbh.db);
    const out = new Map<string, Record<string, string>>();
    for (const t of tenants) {
      const v: Record<string, string> = {};
      for (const r of await store.envVarRows(t, 'api')) v[r.key] = await sealer.open(t, `env:api:${r.key}`, r.ciphertext);
      out.set(t, v);
    }
    return out;
  }

  beforeAll(async () => {
    fx = await freshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'hoist-keys-cli-'));
    // Console-style keyring: the master key lives in the data directory.
    writeFileSync(join(dataDir, 'master.key'), old.toString('base64'), { mode: 0o600 });
    const store = new Store(fx.dbh.db);
    const sealer = new Sealer(fx.dbh.db, new Keyring(old));
    for (const t of tenants) {
      await store.ensureTenant(t, t.split(':')[0]!);
      const v: Record<string, string> = {};
      for (let i = 0; i < 5; i++) {
        v[`KEY_${i}`] = `value-${i}-${randomBytes(6).toString('hex')}`;
        await store.setEnvVar(t, 'api', `KEY_${i}`, await sealer.seal(t, `env:api:KEY_${i}`, v[`KEY_${i}`]!));
      }
      values.set(t, v);
      for (let i = 0; i < 3; i++) await appendAudit(fx.dbh.db, { tenantId: t, type: 'env.set', actor: 'slack:U1', data: { i } }, new Date(), sealer);
    }
  });

  afterAll(async () => {
    await fx?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--new-master: a new key in the data directory, the old one only until everything is re-wrapped; values readable with the new key alone; audit verify passes', async () => {
    const env = baseEnv({ DATABASE_URL: fx.url, HOIST_DATA_DIR: dataDir });
    const r = await hoist(['keys', 'rotate', '--new-master', '--batch', '2'], env);
    expect(r.stderr).not.toMatch(/hoist:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 tenant key version\(s\) re-wrapped, \d+ audit signature\(s\) renewed\n/);
    expect(r.stdout).toMatch(/previous master key removed from the data directory/);
    for (const t of tenants) expect(r.stdout).toMatch(new RegExp(`${t}: data key v1 → v2; re-encrypted env_vars 5\\b.*; 1 old version\\(s\\) destroyed`));

    const fresh = Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64');
    expect(fresh).toHaveLength(32);
    expect(fresh.equals(old)).toBe(false);
    expect(existsSync(join(dataDir, 'master.key.previous'))).toBe(false);

    expect(await readAll(new Keyring(fresh))).toEqual(values);
    await expect(readAll(new Keyring(old))).rejects.toThrow();
    for (const t of tenants) expect(await verifyAudit(fx.dbh.db, t, new Sealer(fx.dbh.db, new Keyring(fresh)))).toMatchObject({ ok: true, events: 3 });
    const verify = await hoist(['audit', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/audit chain OK: 6 events across 2 tenant\(s\)/);
  });

  it('with HOIST_MASTER_KEY set, --new-master refuses and says what to do; the key moved to HOIST_MASTER_KEY_PREVIOUS re-wraps; the new key alone reads and verifies', async () => {
    const current = Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64');
    const next = randomBytes(32);
    const refused = await hoist(['keys', 'rotate', '--new-master'], baseEnv({ DATABASE_URL: fx.url, HOIST_DATA_DIR: dataDir, HOIST_MASTER_KEY: next.toString('base64') }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/HOIST_MASTER_KEY_PREVIOUS/);

    const both = baseEnv({ DATABASE_URL: fx.url, HOIST_DATA_DIR: dataDir, HOIST_MASTER_KEY: next.toString('base64'), HOIST_MASTER_KEY_PREVIOUS: current.toString('base64') });
    const r = await hoist(['keys', 'rotate', '--rewrap-only'], both);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 tenant key version\(s\) re-wrapped/);

    expect(await readAll(new Keyring(next))).toEqual(values);
    await expect(readAll(new Keyring(current))).rejects.toThrow(/not configured/);
    const verify = await hoist(['audit', 'verify'], baseEnv({ DATABASE_URL: fx.url, HOIST_DATA_DIR: dataDir, HOIST_MASTER_KEY: next.toString('base64') }));
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/audit chain OK: 6 events across 2 tenant\(s\)/);
  });
});
