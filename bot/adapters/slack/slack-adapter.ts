/**
 * Slack transport (Bolt 5), over HTTP (signed requests on `/slack/events`) or Socket Mode.
 * Flow per inbound request: Bolt verifies the signature → ack at once (events are acked by
 * Bolt before listeners run; commands, buttons and modals ack first thing) → the rest runs
 * detached: normalize → dedupe on the platform id (`Store.claimEvent`, persistent) →
 * pipeline. Outbound calls go through one serial queue per channel that waits out
 * 429 Retry-After and retries, so nothing is lost or reordered. Errors never escape a
 * listener: they are logged by code and answered in the thread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, webApi, type Logger as BoltLogger } from '@slack/bolt';
import { HoistError } from '../../core/errors.ts';
import type { ChatAdapter, ConversationRef, Decision, InboundMessage, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import {
  commandInput, commandOf, interactionInput, MAX_TEXT, normalizeDecision, normalizeMention, normalizeMessage, parseSecretMeta,
  secretAsChat, slashText, submittedValue, type BotIdentity, type Normalized,
} from './slack-normalize.ts';
import {
  ACTION_APPROVE, ACTION_CANCEL, ACTION_SECRET, ACTION_SHARE, render, renderSecretModal, renderSecretPrompt, renderShareable,
  renderShared, renderText, VIEW_SECRET, type SecretMeta, type SlackMessage,
} from './slack-render.ts';

type WebClient = InstanceType<typeof webApi.WebClient>;
type RetryOptions = NonNullable<ConstructorParameters<typeof webApi.WebClient>[1]>['retryConfig'];

/** Threads Hoist started or answered in; kept outside the process (Redis), so any instance knows them. */
export interface ThreadMemory {
  remember(tenantId: string, channel: string, threadTs: string): Promise<void>;
  isHoistThread(tenantId: string, channel: string, threadTs: string): Promise<boolean>;
}

export interface SlackMetrics {
  request(command: string): void;
  decision(decision: string): void;
  rateLimited(): void;
}

export interface SlackHandlers {
  message(m: InboundMessage): Promise<void>;
  decision(d: Decision): Promise<void>;
}

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

/** trigger_ids live 3 s; past this we no longer try views.open with one. */
const TRIGGER_TTL_MS = 2_500;
/** response_url accepts 5 posts within 30 minutes. */
const RESPONSE_URL_TTL_MS = 29 * 60_000;
const RESPONSE_URL_USES = 5;

class RateLimited extends Error {
  constructor(readonly retryAfterSec: number) { super(`rate limited for ${retryAfterSec}s`); }
}

function retryAfterOf(e: unknown): number | undefined {
  if (e instanceof RateLimited) return e.retryAfterSec;
  const x = e as { code?: string; retryAfter?: number };
  return x?.code === webApi.ErrorCode.RateLimitedError && typeof x.retryAfter === 'number' ? x.retryAfter : undefined;
}

function errCode(e: unknown): string {
  const x = e as { code?: string; data?: { error?: string } };
  return x?.data?.error ?? x?.code ?? (e instanceof Error ? e.message : String(e));
}

const slackUser = (hoistUserId: string) => hoistUserId.replace(/^slack:/, '');

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

/** One promise chain per channel: sends leave in the order they were asked for. */
class ChannelQueues {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(channel) ?? Promise.resolve()).then(fn);
    const tail = next.then(() => undefined, () => undefined);
    this.tails.set(channel, tail);
    void tail.then(() => { if (this.tails.get(channel) === tail) this.tails.delete(channel); });
    return next;
  }
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
  private readonly client: WebClient;
  private readonly queues = new ChannelQueues();
  private readonly tasks = new Set<Promise<void>>();
  private readonly triggers = new Map<string, { id: string; at: number }>();
  private readonly responseUrls = new Map<string, { url: string; at: number; uses: number }>();
  private readonly knownThreads = new Set<string>();
  private handlers?: SlackHandlers;
  private readonly log: Logger;

  constructor(private readonly o: SlackAdapterOptions, private readonly app: App, readonly me: BotIdentity, private readonly http?: HTTPReceiver) {
    this.mode = http ? 'http' : 'socket';
    this.client = app.client;
    this.log = o.logger.child({ platform: 'slack' });
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
    if (!this.handlers) throw new Error('not started');
    if (this.mode === 'socket') {
      const ws = (this.app as unknown as { receiver?: { client?: { websocket?: { isActive(): boolean } } } }).receiver?.client?.websocket;
      if (!ws?.isActive()) throw new Error('socket mode disconnected');
    }
  }

  async start(h: SlackHandlers): Promise<void> {
    this.handlers = h;
    this.listen();
    if (this.mode === 'socket') await this.app.start();
  }

  async close(): Promise<void> {
    if (this.mode === 'socket') await this.app.stop().catch((e: unknown) => this.log.warn({ err: errCode(e) }, 'slack.stop_failed'));
    const until = Date.now() + 10_000;
    while (this.tasks.size > 0 && Date.now() < until) await Promise.race([...this.tasks, new Promise((r) => setTimeout(r, 200))]);
  }

  /** Resolves when every detached piece of work started so far has finished (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  // ── outbound (ChatAdapter) ──

  async post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    if (conv.ephemeralTo) return this.postPrivate(conv, slackUser(conv.ephemeralTo), renderShareable(msg));
    const m = render(msg);
    const res = await this.call(conv.channelId, () => this.client.chat.postMessage({
      channel: conv.channelId, ...(conv.threadId ? { thread_ts: conv.threadId } : {}),
      text: m.text, blocks: m.blocks as never, unfurl_links: false, unfurl_media: false,
    }));
    if (conv.threadId) await this.rememberThread(conv.tenantId, conv.channelId, conv.threadId);
    return { id: String(res.ts) };
  }

  async update(conv: ConversationRef, ref: MessageRef, msg: Outbound): Promise<void> {
    // Ephemeral messages cannot be edited through the Web API: send the new state privately.
    if (conv.ephemeralTo) return void (await this.postPrivate(conv, slackUser(conv.ephemeralTo), renderShareable(msg)));
    const m = render(msg);
    await this.call(conv.channelId, () => this.client.chat.update({ channel: conv.channelId, ts: ref.id, text: m.text, blocks: m.blocks as never }));
  }

  async notify(conv: ConversationRef, userId: string, text: string): Promise<void> {
    await this.postPrivate(conv, slackUser(userId), renderText(text), true);
  }

  /** Opens the modal while the request's trigger_id is fresh; otherwise posts a private "Enter value" button. */
  async askSecret(conv: ConversationRef, req: SecretRequest): Promise<void> {
    const meta: SecretMeta = { key: req.key, app: req.app, channel: conv.channelId, ...(conv.threadId ? { thread: conv.threadId } : {}) };
    const trigger = this.triggers.get(req.eventId);
    this.triggers.delete(req.eventId);
    if (trigger && Date.now() - trigger.at < TRIGGER_TTL_MS) {
      try {
        await this.client.views.open({ trigger_id: trigger.id, view: renderSecretModal(meta) as never });
        return;
      } catch (e) {
        this.log.warn({ err: errCode(e) }, 'slack.modal_failed');
      }
    }
    await this.postPrivate(conv, slackUser(req.userId), renderSecretPrompt(meta), true);
  }

  /** A message only `user` sees: via the command's response_url when we hold one, else chat.postEphemeral. */
  private async postPrivate(conv: ConversationRef, user: string, m: SlackMessage, webApiOnly = false): Promise<MessageRef> {
    const held = webApiOnly ? undefined : this.responseUrls.get(`${conv.channelId}:${user}`);
    if (held && held.uses < RESPONSE_URL_USES && Date.now() - held.at < RESPONSE_URL_TTL_MS) {
      held.uses++;
      await this.call(conv.channelId, () => this.respond(held.url, { response_type: 'ephemeral', replace_original: false, text: m.text, blocks: m.blocks }));
      return { id: `ephemeral:${Date.now()}` };
    }
    const res = await this.call(conv.channelId, () => this.client.chat.postEphemeral({
      channel: conv.channelId, user, ...(conv.threadId ? { thread_ts: conv.threadId } : {}), text: m.text, blocks: m.blocks as never,
    }));
    return { id: String(res.message_ts ?? `ephemeral:${Date.now()}`) };
  }

  private async respond(url: string, body: object): Promise<void> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
    if (res.status === 429) throw new RateLimited(Number(res.headers.get('retry-after') ?? '1') || 1);
    if (!res.ok) throw new Error(`response_url answered ${res.status}`);
  }

  /** Serial per channel; a 429 is waited out (Retry-After) and the same call retried, keeping order. */
  private call<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    return this.queues.run(channel, async () => {
      for (let waits = 0; ; waits++) {
        try {
          return await fn();
        } catch (e) {
          const after = retryAfterOf(e);
          if (after === undefined || waits >= (this.o.maxRateLimitWaits ?? 5)) throw e;
          this.o.metrics?.rateLimited();
          this.log.warn({ channel, retryAfter: after }, 'slack.rate_limited');
          await new Promise((r) => setTimeout(r, Math.max(after, 0) * 1000));
        }
      }
    });
  }

  private async rememberThread(tenantId: string, channel: string, ts: string): Promise<void> {
    const k = `${tenantId}:${channel}:${ts}`;
    if (this.knownThreads.has(k)) return;
    try {
      await this.o.threads.remember(tenantId, channel, ts);
      this.knownThreads.add(k);
    } catch (e) {
      this.log.warn({ err: errCode(e) }, 'slack.thread_memory_failed');
    }
  }

  // ── inbound ──

  /** Runs work after the ack; failures are logged and, when we know where, answered. */
  private detach(what: string, work: () => Promise<void>, answerIn?: () => ConversationRef | undefined): void {
    const t = (async () => {
      try {
        await work();
      } catch (e) {
        this.log.error({ err: errCode(e), op: what }, 'slack.handler_failed');
        const conv = answerIn?.();
        if (conv) {
          await this.post(conv, { kind: 'text', text: 'Something went wrong inside Hoist while handling that; the error was logged and nothing was changed.' })
            .catch((err: unknown) => this.log.error({ err: errCode(err) }, 'reply.failed'));
        }
      }
    })();
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  private h(): SlackHandlers {
    if (!this.handlers) throw new Error('slack adapter not started');
    return this.handlers;
  }

  private async dispatch(n: Normalized, claimId: string | undefined): Promise<void> {
    if (n.kind === 'ignore') return void this.log.debug({ reason: n.reason }, 'slack.ignored');
    if (n.kind === 'message' && n.onlyInHoistThread) {
      const c = n.msg.conversation;
      if (!(await this.o.threads.isHoistThread(c.tenantId, c.channelId, c.threadId!))) return;
    }
    if (claimId && !(await this.o.claimEvent(claimId))) return void this.log.info({ event: claimId }, 'slack.duplicate');
    switch (n.kind) {
      case 'empty':
        return void (await this.post(n.conv, { kind: 'text', text: 'Yes? Tell me what to do, e.g. "status" or "deploy web 1.2.3" — say "help" for everything I understand.' }));
      case 'too-long':
        this.o.metrics?.request('too_long');
        return void (await this.post(n.conv, { kind: 'text', text: `That message is ${n.length.toLocaleString('en')} characters long; I read at most ${MAX_TEXT.toLocaleString('en')}. I did not read or keep it — send a shorter one.` }));
      case 'message':
        this.o.metrics?.request(n.command);
        return void (await this.h().message(n.msg));
    }
  }

  private listen(): void {
    const app = this.app;
    const onEvent = (normalize: typeof normalizeMention) => async ({ body }: { body: unknown }) => {
      // Bolt has already acked (processBeforeResponse: false); nothing below delays Slack.
      const eventId = (body as { event_id?: string }).event_id;
      let conv: ConversationRef | undefined;
      this.detach('event', async () => {
        const n = normalize(body, this.me, new Date());
        conv = n.kind === 'message' ? n.msg.conversation : n.kind === 'ignore' ? undefined : n.conv;
        await this.dispatch(n, eventId);
      }, () => conv);
    };
    app.event('app_mention', onEvent(normalizeMention));
    app.event('message', onEvent(normalizeMessage));

    app.command(/.*/, async ({ ack, body }) => {
      const receivedAt = Date.now();
      await ack();
      let conv: ConversationRef | undefined;
      this.detach('command', async () => {
        conv = await this.onCommand(body, receivedAt);
      }, () => conv);
    });

    const decide = (decision: 'approve' | 'cancel') => async ({ ack, body, action }: { ack: () => Promise<void>; body: unknown; action: unknown }) => {
      await ack();
      this.detach('decision', async () => {
        const d = normalizeDecision(body, (action as { value?: unknown }).value, decision);
        if (!d) return this.unknownButton(body);
        this.o.metrics?.decision(decision);
        await this.h().decision(d);
      });
    };
    app.action(ACTION_APPROVE, decide('approve'));
    app.action(ACTION_CANCEL, decide('cancel'));

    app.action(ACTION_SHARE, async ({ ack, body, action }) => {
      await ack();
      this.detach('share', async () => {
        const i = interactionInput(body);
        const text = (action as { value?: unknown }).value;
        if (!i?.channel || typeof text !== 'string' || !text) return this.unknownButton(body);
        const m = renderShared(i.user, text);
        await this.call(i.channel, () => this.client.chat.postMessage({
          channel: i.channel!, ...(i.thread ? { thread_ts: i.thread } : {}), text: m.text, blocks: m.blocks as never, unfurl_links: false, unfurl_media: false,
        }));
        if (i.responseUrl) {
          await this.respond(i.responseUrl, { delete_original: true }).catch((e: unknown) => this.log.info({ err: errCode(e) }, 'slack.share_cleanup_failed'));
        }
      });
    });

    app.action(ACTION_SECRET, async ({ ack, body, action }) => {
      await ack();
      this.detach('secret-button', async () => {
        const i = interactionInput(body);
        const meta = parseSecretMeta((action as { value?: unknown }).value);
        if (!i?.triggerId || !meta || (i.channel && i.channel !== meta.channel)) return this.unknownButton(body);
        await this.client.views.open({ trigger_id: i.triggerId, view: renderSecretModal(meta) as never });
      });
    });

    app.action(/^(?!hoist\.(?:approve|cancel|share|secret)$)/, async ({ ack, body }) => {
      await ack();
      this.detach('unknown-action', () => this.unknownButton(body));
    });

    app.view(VIEW_SECRET, async ({ ack, body, view }) => {
      const meta = parseSecretMeta(view.private_metadata);
      const value = submittedValue(view);
      const i = interactionInput(body);
      if (!meta || !i) return void (await ack({ response_action: 'errors', errors: { value: 'This form is no longer valid; ask again.' } }));
      if (!value || !value.trim()) return void (await ack({ response_action: 'errors', errors: { value: 'Enter a value.' } }));
      if (value.length > MAX_TEXT) return void (await ack({ response_action: 'errors', errors: { value: 'That value is too long.' } }));
      await ack();
      let conv: ConversationRef | undefined;
      this.detach('secret-submit', async () => {
        const eventId = `view:${view.id}`;
        if (!(await this.o.claimEvent(eventId))) return;
        conv = { platform: 'slack', tenantId: i.tenantId, channelId: meta.channel, ...(meta.thread ? { threadId: meta.thread } : {}) };
        if (!conv.threadId) conv = await this.startThread(conv, i.user, 'a new env var value');
        this.o.metrics?.request('set');
        // The exact chat form of a pasted secret, so the same redact stage seals it whole.
        await this.h().message({
          platform: 'slack', eventId, tenantId: i.tenantId, userId: `slack:${i.user}`, text: secretAsChat(meta, value), conversation: conv, receivedAt: new Date(),
        });
      }, () => conv);
    });

    app.error(async (e) => {
      this.log.error({ err: errCode(e) }, 'slack.listener_failed');
    });
  }

  private async unknownButton(body: unknown): Promise<void> {
    const i = interactionInput(body);
    if (!i?.channel) return void this.log.warn({}, 'slack.unknown_interaction');
    await this.notify({ platform: 'slack', tenantId: i.tenantId, channelId: i.channel, ...(i.thread ? { threadId: i.thread } : {}) },
      `slack:${i.user}`, "That button is not one I know (or it is malformed); nothing was done.");
  }

  /** A public root message for requests that arrive without one (slash commands, modals): the card and progress go in its thread. */
  private async startThread(conv: ConversationRef, user: string, what: string): Promise<ConversationRef> {
    const root = await this.post({ ...conv, ephemeralTo: undefined }, { kind: 'text', text: `slack:${user} asked Hoist for ${what}; the details follow in this thread.` });
    const threaded: ConversationRef = { platform: 'slack', tenantId: conv.tenantId, channelId: conv.channelId, threadId: root.id };
    await this.rememberThread(conv.tenantId, conv.channelId, root.id);
    return threaded;
  }

  private async onCommand(body: unknown, receivedAt: number): Promise<ConversationRef | undefined> {
    const c = commandInput(body);
    if (!c) return void this.log.warn({}, 'slack.malformed_command');
    if (!(await this.o.claimEvent(c.eventId))) return undefined;
    if (c.responseUrl) this.responseUrls.set(`${c.channel}:${c.user}`, { url: c.responseUrl, at: Date.now(), uses: 0 });
    const base: ConversationRef = { platform: 'slack', tenantId: c.tenantId, channelId: c.channel };
    const privately: ConversationRef = { ...base, ephemeralTo: `slack:${c.user}` };
    if (c.raw.length > MAX_TEXT) {
      this.o.metrics?.request('too_long');
      await this.post(privately, { kind: 'text', text: `That command is ${c.raw.length.toLocaleString('en')} characters long; I read at most ${MAX_TEXT.toLocaleString('en')}. Nothing was read or kept.` });
      return privately;
    }
    const s = slashText(c.raw, this.me.botUserId);
    if (s.asksSecret && c.triggerId) this.triggers.set(c.eventId, { id: c.triggerId, at: receivedAt });
    const conv = s.private ? privately : await this.startThread(base, c.user, `"/hoist ${commandOf(s.text)}"`);
    this.o.metrics?.request(commandOf(s.text));
    try {
      await this.h().message({ platform: 'slack', eventId: c.eventId, tenantId: c.tenantId, userId: `slack:${c.user}`, text: s.text, conversation: conv, receivedAt: new Date(receivedAt) });
    } finally {
      this.triggers.delete(c.eventId);
    }
    return conv;
  }
}
