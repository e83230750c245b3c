/**
 * F3: graceful shutdown of a real `hoist start` child process (bot + workers, Slack over
 * HTTP against a fake Slack Web API, private PostgreSQL and Redis). SIGTERM arrives while a
 * rollout runs: /readyz turns 503 at once, new Slack requests are answered 503 (Slack
 * retries them elsewhere), the running job finishes on this process, its result reaches the
 * thread, and the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Store } from '../../db/repo.ts';
import { createDb, type DbHandle } from '../../db/client.ts';
import { buttonsOf, FakeSlackApi } from '../fakes/slack-api.ts';
import { SlackSender } from '../fakes/slack-signer.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { freePort, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../fixtures/private-services.ts';
import { sleep, until } from './fault-harness.ts';

let pg: PrivatePostgres;
let redis: PrivateRedis;
let api: FakeSlackApi;
let dbh: DbHandle;
let child: ChildProcess | undefined;
const team = `T${randomBytes(4).toString('hex').toUpperCase()}`;
const docker = new Dockerode();

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  api = await new FakeSlackApi({ botUserId: 'UHOIST', botId: 'BHOIST', teamId: team }).start();
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await dbh?.close();
  await api?.close();
  await cleanupTenant(docker, `slack:${team}`);
  await Promise.all([pg?.destroy(), redis?.stop()]);
});

it('SIGTERM mid-rollout: not ready at once, the job finishes, the result is posted, exit 0', async () => {
  const image = await demoImage(docker, '1');
  const port = await freePort();
  const secret = randomBytes(16).toString('hex');
  child = spawn(process.execPath, ['bin/hoist.mjs', 'start'], {
    cwd: join(import.meta.dirname, '../..'),
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOIST_DATA_DIR: mkdtempSync(join(tmpdir(), 'hoist-sd-')),
      DATABASE_URL: pg.url, REDIS_URL: redis.url, HOIST_MASTER_KEY: randomBytes(32).toString('base64'),
      SLACK_BOT_TOKEN: 'xoxb-shutdown', SLACK_SIGNING_SECRET: secret, SLACK_API_URL: api.apiUrl,
      PORT: String(port), HOIST_ADMINS: 'slack:UDEV', LOG_LEVEL: 'warn', HOIST_SHUTDOWN_GRACE_MS: '60000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${base}/readyz`)).status === 200, '/readyz 200', 60_000);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const m of ['hoist_requests_total', 'hoist_rollout_duration_seconds', 'hoist_queue_depth', 'hoist_rate_limit_refusals_total', 'hoist_llm_tokens_total', 'hoist_redaction_findings_total', 'hoist_deploys_total']) {
    expect(metrics).toContain(m);
  }

  const sender = new SlackSender(`${base}/slack/events`, secret, team);
  const ev = sender.mention('UDEV', 'C0SD', `<@UHOIST> deploy sd image ${image} port 8080`);
  expect((await ev.send()).status).toBe(200);
  const card = await api.waitFor(() => api.of('chat.postMessage').find((c) => buttonsOf(c).some((b) => b.action_id === 'hoist.approve')), 'the card');
  const actionId = buttonsOf(card).find((b) => b.action_id === 'hoist.approve')!.value;
  dbh = await createDb({ url: pg.url });
  const store = new Store(dbh.db);
  const thread = String(ev.body.event.ts);
  expect((await sender.blockAction('UDEV', { channel: 'C0SD', messageTs: String(card.response?.ts), threadTs: thread, actionId: 'hoist.approve', value: actionId })).status).toBe(200);
  await until(async () => (await store.getAction(actionId))?.status === 'running', 'the rollout to start', 30_000);

  child.kill('SIGTERM');
  await until(async () => (await fetch(`${base}/readyz`)).status === 503, '/readyz 503 after SIGTERM', 5_000);
  const late = await sender.mention('UDEV', 'C0SD', '<@UHOIST> status').send().catch(() => ({ status: 0 }));
  expect([503, 0]).toContain(late.status); // refused (or the server already closed): Slack retries elsewhere

  expect(await exited).toBe(0);
  expect((await store.getAction(actionId))?.status).toBe('succeeded');
  const results = api.of('chat.postMessage').filter((c) => c.body.thread_ts === thread && /^[✅❌]/.test(String(c.body.text ?? '')));
  expect(results).toHaveLength(1);
  await sleep(0);
});
