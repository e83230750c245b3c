/**
 * Hoist with its real Slack adapter (real Bolt, HTTP receiver on the bot's own HTTP
 * server, or Socket Mode) against real PostgreSQL, Redis and Docker; only Slack itself is
 * fake (FakeSlackApi + SlackSender, FakeSlackSocket). Every log line is recorded, so tests
 * can prove a secret never reached one.
 */
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { parseConfig } from '../../bot/config.ts';
import type { Logger } from '../../bot/core/types.ts';
import type { Services } from '../../bot/infra/services.ts';
import { startBot } from '../../bot/main.ts';
import { startWorkers } from '../../workers/main.ts';
import { cleanupTenant } from '../fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';
import { buttonsOf, FakeSlackApi, type SlackCall } from './slack-api.ts';
import { SlackSender } from './slack-signer.ts';
import { FakeSlackSocket } from './slack-socket.ts';

export class RecordingLogger implements Logger {
  constructor(readonly lines: string[] = [], private readonly bindings: object = {}) {}
  private rec(level: string, obj: object, msg?: string) {
    let s: string;
    try { s = JSON.stringify({ level, ...this.bindings, ...obj, msg }); } catch { s = `${level} ${msg ?? ''} [unserializable]`; }
    this.lines.push(s);
  }
  debug(obj: object, msg?: string) { this.rec('debug', obj, msg); }
  info(obj: object, msg?: string) { this.rec('info', obj, msg); }
  warn(obj: object, msg?: string) { this.rec('warn', obj, msg); }
  error(obj: object, msg?: string) { this.rec('error', obj, msg); }
  child(b: object): Logger { return new RecordingLogger(this.lines, { ...this.bindings, ...b }); }
}

export const BOT_USER = 'UHOIST';
export const BOT_ID = 'BHOIST';
export const CHANNEL = 'C0OPS';

export async function startSlackHarness(o: { socket?: boolean; workers?: boolean } = {}) {
  const fx = await freshDatabase();
  const prefix = uid('bull-');
  const team = `T${uid('').toUpperCase()}`;
  const tenantId = `slack:${team}`;
  const api = await new FakeSlackApi({ botUserId: BOT_USER, botId: BOT_ID, teamId: team }).start();
  const socket = o.socket ? await new FakeSlackSocket().start() : undefined;
  if (socket) api.socketUrl = socket.url;
  const secret = randomBytes(16).toString('hex');
  const config = parseConfig({
    DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: api.apiUrl, HOIST_ADMINS: 'slack:UADMIN',
    ...(socket ? { SLACK_APP_TOKEN: 'xapp-test-token' } : { SLACK_SIGNING_SECRET: secret }),
  }, 'cli');
  const logs = new RecordingLogger();
  const services: Services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey: randomBytes(32), close: async () => undefined };
  const bot = await startBot({
    config, services, logger: logs, prefix, http: { port: 0, host: '127.0.0.1' },
    slack: { botId: BOT_ID, botUserId: BOT_USER, retryConfig: { retries: 0 } },
  });
  const workers = o.workers === false ? undefined : await startWorkers({ config, services, logger: logs, prefix });
  const sender = new SlackSender(`${bot.http!.url}/slack/events`, secret, team);
  const docker = new Dockerode();

  const h = {
    fx, api, socket, bot, workers, sender, logs, tenantId, team, docker, store: bot.store,
    /** The card Slack was asked to post after `since` (a chat.postMessage carrying hoist.approve). */
    async card(since = 0) {
      const call = await api.waitFor(() => api.of('chat.postMessage').slice(since).find((c) => buttonsOf(c).some((b) => b.action_id === 'hoist.approve')), 'a card');
      return cardInfo(call);
    },
    async mentionForCard(user: string, text: string, channel = CHANNEL) {
      const since = api.of('chat.postMessage').length;
      const r = await sender.mention(user, channel, `<@${BOT_USER}> ${text}`).send();
      if (r.status !== 200) throw new Error(`mention answered ${r.status}`);
      return h.card(since);
    },
    click(user: string, card: CardInfo, actionId: 'hoist.approve' | 'hoist.cancel') {
      return sender.blockAction(user, { channel: card.channel, messageTs: card.ts, threadTs: card.thread, actionId, value: card.actionId });
    },
    async stop() {
      if (process.env.HOIST_TEST_LOGS) process.stderr.write(`${logs.lines.filter((l) => !l.startsWith('{"level":"debug"')).join('\n')}\n`);
      await bot.slack?.drain();
      await bot.close();
      await workers?.close();
      await socket?.close();
      await api.close();
      await cleanupTenant(docker, tenantId);
      await fx.drop();
    },
  };
  return h;
}

export type SlackHarness = Awaited<ReturnType<typeof startSlackHarness>>;

export interface CardInfo { actionId: string; ts: string; channel: string; thread?: string; call: SlackCall }

function cardInfo(call: SlackCall): CardInfo {
  const approve = buttonsOf(call).find((b) => b.action_id === 'hoist.approve')!;
  return { actionId: approve.value, ts: String(call.response?.ts), channel: String(call.body.channel), thread: call.body.thread_ts ? String(call.body.thread_ts) : undefined, call };
}
