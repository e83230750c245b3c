/**
 * Discord transport (discord.js 14 over the gateway). Inbound (discord-inbound.ts): messages
 * and interactions are answered within Discord's 3 s before any other work, deduped on the
 * platform id (`Store.claimEvent`, persistent: a resumed session that replays an event is
 * processed once) and handed to the pipeline. Outbound (discord-outbound.ts): threads, DM
 * reply chains, the interaction being handled as the ambient reply channel, held
 * interaction tokens for later private answers. This file is the wiring: the client (identify
 * throttling, REST, caches), gateway events, readiness and lifecycle. Message contents are
 * not cached (MessageManager cache 0), so a secret pasted in chat does not linger in memory.
 */
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, Options, Partials, RESTEvents, Status } from 'discord.js';
import type { ChatAdapter, ConversationRef, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import { DEFAULT_IDENTIFY_POLICY, GuardedIdentifyThrottler, type IdentifyLog, type IdentifyPolicy } from './discord-identify.ts';
import { DiscordInbound, type DiscordHandlers, type DiscordMetrics } from './discord-inbound.ts';
import { DiscordOutbound, errCode, type ThreadMemory } from './discord-outbound.ts';

export type { DiscordHandlers, DiscordMetrics } from './discord-inbound.ts';
export type { ThreadMemory } from './discord-outbound.ts';

export interface DiscordAdapterOptions {
  token: string;
  appId: string;
  /** REST base (tests, proxies), e.g. http://127.0.0.1:1234/api; the gateway URL is then asked of it too. */
  apiUrl?: string;
  logger: Logger;
  /** True the first time a platform event id is seen, across restarts and instances. */
  claimEvent(eventId: string): Promise<boolean>;
  threads: ThreadMemory;
  /** Persisted identify history: a crash-looping process backs off instead of burning Discord's daily identify budget. */
  identifyLog: IdentifyLog;
  identifyPolicy?: Partial<IdentifyPolicy>;
  metrics?: DiscordMetrics;
  /** REST retries on 5xx and network errors (discord.js default 3). */
  restRetries?: number;
  /** How long start() waits for the gateway to become ready. */
  readyTimeoutMs?: number;
}

export function createDiscordAdapter(o: DiscordAdapterOptions): DiscordAdapter {
  const policy = { ...DEFAULT_IDENTIFY_POLICY, ...o.identifyPolicy };
  const log = o.logger.child({ platform: 'discord' });
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.DirectMessages],
    // DM channels are not cached before their first message: without this partial, DMs are dropped.
    partials: [Partials.Channel],
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
    rest: {
      ...(o.apiUrl ? { api: o.apiUrl.replace(/\/+$/, '') } : {}), retries: o.restRetries ?? 3, timeout: 15_000,
      // Node's own fetch, not discord.js's bundled undici: when another SDK (Slack's) loaded a newer undici first,
      // its global dispatcher cannot send the older undici's FormData, and every message with a file failed.
      makeRequest: (url, init) => fetch(url, init as RequestInit) as never,
    },
    ws: {
      buildIdentifyThrottler: async (manager) => {
        const info = await manager.fetchGatewayInformation();
        return new GuardedIdentifyThrottler(o.identifyLog, log, policy, info.session_start_limit);
      },
    },
    allowedMentions: { parse: [] },
  });
  return new DiscordAdapter(o, client, log);
}

export class DiscordAdapter implements ChatAdapter {
  readonly platform = 'discord' as const;
  private readonly out: DiscordOutbound;
  private readonly inbound: DiscordInbound;

  constructor(private readonly o: DiscordAdapterOptions, readonly client: Client, private readonly log: Logger) {
    this.out = new DiscordOutbound(client, o.threads, log);
    this.inbound = new DiscordInbound({ client, out: this.out, log, claimEvent: o.claimEvent, threads: o.threads, metrics: o.metrics });
  }

  async start(h: DiscordHandlers): Promise<void> {
    this.inbound.start(h);
    const c = this.client;
    c.on(Events.MessageCreate, (m) => this.inbound.onMessage(m));
    c.on(Events.InteractionCreate, (i) => this.inbound.onInteraction(i));
    c.on(Events.Error, (e) => this.log.error({ err: errCode(e) }, 'discord.client_error'));
    c.on(Events.Warn, (w) => this.log.warn({ warning: String(w).slice(0, 200) }, 'discord.warning'));
    c.on(Events.ShardDisconnect, (e, shard) => this.log.warn({ shard, code: e.code }, 'discord.disconnected'));
    c.on(Events.ShardReconnecting, (shard) => this.log.info({ shard }, 'discord.reconnecting'));
    c.on(Events.ShardResume, (shard, replayed) => this.log.info({ shard, replayed }, 'discord.resumed'));
    c.rest.on(RESTEvents.RateLimited, (r) => {
      this.o.metrics?.rateLimited();
      this.log.warn({ route: r.route, retryAfter: r.retryAfter }, 'discord.rate_limited');
    });
    const ready = once(c, Events.ClientReady);
    await c.login(this.o.token);
    const timeout = this.o.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`Discord gateway not ready within ${timeout} ms`)), timeout); })])
      .finally(() => clearTimeout(timer));
    this.log.info({ user: c.user?.id }, 'discord.ready');
  }

  /** Rejects unless the gateway session is live (for /readyz). */
  async ready(): Promise<void> {
    // Per shard: the client-wide status stays Ready while a shard reconnects or resumes.
    const shards = [...this.client.ws.shards.values()];
    if (!this.client.isReady() || shards.length === 0 || shards.some((s) => s.status !== Status.Ready)) throw new Error('discord gateway not connected');
  }

  async close(): Promise<void> {
    await this.inbound.settle(Date.now() + 10_000);
    await this.client.destroy().catch((e: unknown) => this.log.warn({ err: errCode(e) }, 'discord.destroy_failed'));
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
