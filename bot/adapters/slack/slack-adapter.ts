/**
 * Slack transport (Bolt 5), over HTTP (signed requests on `/slack/events`) or Socket Mode.
 * Flow per inbound request: Bolt verifies the signature → ack at once (events are acked by
 * Bolt before listeners run; commands, buttons and modals ack first thing) → the rest runs
 * detached: normalize → dedupe on the platform id (`Store.claimEvent`, persistent) →
 * pipeline (slack-inbound.ts). Outbound calls go through one serial queue per channel that
 * waits out 429 Retry-After and retries, so nothing is lost or reordered (slack-outbound.ts).
 * Errors never escape a listener: they are logged by code and answered in the thread.
 * This file is the wiring: Bolt app and receiver, the HTTP admission gate, readiness, lifecycle.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, webApi, type Logger as BoltLogger } from '@slack/bolt';
import { HoistError } from '../../core/errors.ts';
import type { ChatAdapter, ConversationRef, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import { SlackInbound, type SlackHandlers } from './slack-inbound.ts';
import type { BotIdentity } from './slack-normalize.ts';
import { errCode, SlackOutbound, type SlackMetrics, type ThreadMemory } from './slack-outbound.ts';

export type { SlackHandlers } from './slack-inbound.ts';
export type { SlackMetrics, ThreadMemory } from './slack-outbound.ts';

type RetryOptions = NonNullable<ConstructorParameters<typeof webApi.WebClient>[1]>['retryConfig'];

export interface SlackAdapterOptions {
  botToken: string;
  /** HTTP mode; ignored when appToken (Socket Mode) is set. */
  signingSecret?: string;
  appToken?: string;
  /** Web API base (tests, proxies); defaults to Slack's own. */
  apiUrl?: string;
  botUserId?: string;
  botId?: string;
  /** Transport-error retries per Web API call; rate limits are waited out by the send queue instead. */
  retryConfig?: RetryOptions;
  /** How many 429s in a row one call waits out before giving up. */
  maxRateLimitWaits?: number;
  logger: Logger;
  /** True the first time a platform event id is seen, across restarts and instances. */
  claimEvent(eventId: string): Promise<boolean>;
  threads: ThreadMemory;
  metrics?: SlackMetrics;
  /**
   * HTTP mode: asked before Bolt sees a request. A reason (the database is down, the process
   * is shutting down) answers 503 without acking, so Slack retries later — and the event is
   * then processed once, since dedupe claims it only when it is really handled.
   */
  admit?: () => Promise<string | undefined>;
}

/** Bolt's own debug lines carry raw payloads (modal values included): they are never forwarded. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const line = (a: unknown[]) => a.map((x) => (x instanceof Error ? x.message : String(x))).join(' ').slice(0, 300);
  return {
    debug: () => undefined,
    info: (...a: unknown[]) => log.info({ src: 'bolt' }, line(a)),
    warn: (...a: unknown[]) => log.warn({ src: 'bolt' }, line(a)),
    error: (...a: unknown[]) => log.error({ src: 'bolt' }, line(a)),
    setLevel: (l: LogLevel) => { level = l === LogLevel.DEBUG ? LogLevel.INFO : l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export async function createSlackAdapter(o: SlackAdapterOptions): Promise<SlackAdapter> {
  const apiUrl = o.apiUrl ? (o.apiUrl.endsWith('/') ? o.apiUrl : `${o.apiUrl}/`) : undefined;
  const logger = boltLogger(o.logger);
  const clientOptions = {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    // The default policy retries for ~30 minutes; a stuck call would block its channel queue.
    retryConfig: o.retryConfig ?? { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 4000 },
    rejectRateLimitedCalls: true,
    timeout: 15_000,
    logger,
  };
  let me: BotIdentity = { botUserId: o.botUserId ?? '', botId: o.botId };
  if (!o.botUserId || !o.botId) {
    const auth = await new webApi.WebClient(o.botToken, clientOptions).auth.test().catch((e: unknown) => {
      throw new HoistError('config_invalid', `Slack did not accept SLACK_BOT_TOKEN (auth.test: ${errCode(e)})`, { cause: e });
    });
    me = { botUserId: String(auth.user_id ?? ''), botId: auth.bot_id ? String(auth.bot_id) : undefined };
    if (!me.botUserId) throw new HoistError('config_invalid', 'Slack auth.test did not return the bot user id; check SLACK_BOT_TOKEN');
  }
  const socket = Boolean(o.appToken);
  const receiver = socket
    ? new SocketModeReceiver({ appToken: o.appToken!, logger, installerOptions: { clientOptions: apiUrl ? { slackApiUrl: apiUrl } : {} } })
    : new HTTPReceiver({
      signingSecret: o.signingSecret ?? '', endpoints: ['/slack/events'], processBeforeResponse: false, logger,
      // A body Bolt cannot type (malformed payload) is never acked by a listener: answer 400, not 404 after 3 s.
      unhandledRequestTimeoutMillis: 2_500,
      unhandledRequestHandler: ({ response }) => {
        if (!response.headersSent) { response.writeHead(400); response.end(); }
      },
    });
  if (!socket && !o.signingSecret) throw new HoistError('config_invalid', 'SLACK_SIGNING_SECRET is required for Slack over HTTP');
  const app = new App({
    receiver, token: o.botToken, botId: me.botId, botUserId: me.botUserId, logger,
    clientOptions, ignoreSelf: true, convoStore: false,
  });
  return new SlackAdapter(o, app, me, socket ? undefined : (receiver as HTTPReceiver));
}

export class SlackAdapter implements ChatAdapter {
  readonly platform = 'slack' as const;
  readonly mode: 'http' | 'socket';
  private readonly out: SlackOutbound;
  private readonly inbound: SlackInbound;
  private readonly log: Logger;

  constructor(private readonly o: SlackAdapterOptions, private readonly app: App, readonly me: BotIdentity, private readonly http?: HTTPReceiver) {
    this.mode = http ? 'http' : 'socket';
    this.log = o.logger.child({ platform: 'slack' });
    this.out = new SlackOutbound({ client: app.client, log: this.log, threads: o.threads, metrics: o.metrics, maxRateLimitWaits: o.maxRateLimitWaits });
    this.inbound = new SlackInbound({ app, me, out: this.out, log: this.log, claimEvent: o.claimEvent, threads: o.threads, metrics: o.metrics });
  }

  /** Node request listener for `/slack/events` (HTTP mode only). */
  readonly httpHandler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!this.http) { res.writeHead(404); res.end(); return; }
    const pass = () => {
      try {
        this.http!.requestListener(req, res);
      } catch (e) {
        this.log.warn({ err: errCode(e) }, 'slack.request_rejected');
        if (!res.headersSent) { res.writeHead(404); res.end(); }
      }
    };
    if (!this.o.admit) return pass();
    // The body stays buffered in the request stream until Bolt reads it.
    void this.o.admit().then((reason) => {
      if (!reason) return pass();
      this.log.warn({ reason }, 'slack.request_deferred');
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('temporarily unavailable\n');
    }, () => pass());
  };

  /** Readiness: HTTP mode is ready once started; Socket Mode while its WebSocket is open. */
  async ready(): Promise<void> {
    if (!this.inbound.started) throw new Error('not started');
    if (this.mode === 'socket') {
      const ws = (this.app as unknown as { receiver?: { client?: { websocket?: { isActive(): boolean } } } }).receiver?.client?.websocket;
      if (!ws?.isActive()) throw new Error('socket mode disconnected');
    }
  }

  async start(h: SlackHandlers): Promise<void> {
    this.inbound.listen(h);
    if (this.mode === 'socket') await this.app.start();
  }

  async close(): Promise<void> {
    if (this.mode === 'socket') await this.app.stop().catch((e: unknown) => this.log.warn({ err: errCode(e) }, 'slack.stop_failed'));
    await this.inbound.settle(Date.now() + 10_000);
  }

  /** Resolves when every detached piece of work started so far has finished (tests, shutdown). */
  async drain(): Promise<void> {
    await this.inbound.settle();
  }

  post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    return this.out.post(conv, msg);
  }

  update(conv: ConversationRef, ref: MessageRef, msg: Outbound): Promise<void> {
    return this.out.update(conv, ref, msg);
  }

  notify(conv: ConversationRef, userId: string, text: string): Promise<void> {
    return this.out.notify(conv, userId, text);
  }

  askSecret(conv: ConversationRef, req: SecretRequest): Promise<void> {
    return this.out.askSecret(conv, req);
  }

  /** The privacy export, as a file in a DM with the user. */
  upload(conv: ConversationRef, userId: string, filename: string, content: string): Promise<void> {
    return this.out.upload(conv, userId, filename, content);
  }
}
