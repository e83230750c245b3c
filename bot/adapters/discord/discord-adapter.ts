/**
 * Discord transport (discord.js 14 over the gateway). Flow per inbound event:
 * - messages (mentions, DMs, replies in Hoist threads): normalize → dedupe on the message id
 *   (`Store.claimEvent`, persistent: a resumed session that replays an event is processed
 *   once) → a thread from the request message (guild channels) → pipeline.
 * - interactions: answered within Discord's 3 s before any other work — buttons `deferUpdate`,
 *   slash commands `deferReply` (ephemeral for read-only verbs), `set` opens the value modal
 *   at once — then dedupe on the interaction id → pipeline. While the pipeline handles an
 *   interaction, that interaction is the ambient reply channel (AsyncLocalStorage): the card
 *   outcome edits the clicked message through it (buttons removed), refusals become
 *   ephemeral follow-ups. Private answers that arrive later (status from the workers) use
 *   the asker's held interaction token (valid 15 minutes; kept in memory only, never stored).
 * Outbound text over 2000 characters is split; embeds are fitted to Discord's limits
 * (discord-render.ts). Nothing rendered pings anyone. Errors never escape a handler: they are
 * logged by code and answered where the request came from. Message contents are not cached
 * (MessageManager cache 0), so a secret pasted in chat does not linger in process memory.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import {
  Client, DiscordAPIError, Events, GatewayIntentBits, MessageFlags, Options, Partials, RESTEvents, Routes, Status,
  type ButtonInteraction, type ChatInputCommandInteraction, type Interaction, type Message, type ModalSubmitInteraction,
  type RepliableInteraction, type TextBasedChannel,
} from 'discord.js';
import type { ChatAdapter, ConversationRef, Decision, InboundMessage, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import { DEFAULT_IDENTIFY_POLICY, GuardedIdentifyThrottler, type IdentifyLog, type IdentifyPolicy } from './discord-identify.ts';
import {
  conversationOf, isDmTenant, normalizeDecision, normalizeMessage, parseCustomId, secretAsChat, slashText, validSecretTarget,
  type InteractionInput, type MessageInput, type Place, type SlashOption,
} from './discord-normalize.ts';
import {
  render, renderOne, renderSecretModal, renderSecretPrompt, renderText, renderTextSingle, renderThreadRoot, secretCustomId, SECRET_INPUT,
  threadName, type DiscordMessage,
} from './discord-render.ts';

/** Threads Hoist started or answered in; kept outside the process (Redis), so any instance knows them. */
export interface ThreadMemory {
  remember(tenantId: string, threadId: string): Promise<void>;
  isHoistThread(tenantId: string, threadId: string): Promise<boolean>;
}

export interface DiscordMetrics {
  request(command: string): void;
  decision(decision: string): void;
  rateLimited(): void;
}

export interface DiscordHandlers {
  message(m: InboundMessage): Promise<void>;
  decision(d: Decision): Promise<void>;
}

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

/** Interaction tokens live 15 minutes; past this we no longer answer through one. */
const TOKEN_TTL_MS = 14 * 60_000;
/** Discord auto-archives a quiet thread after this many minutes (one day). */
const THREAD_ARCHIVE_MIN = 1440;
const EPHEMERAL = MessageFlags.Ephemeral;

/** An interaction we answered (deferred) and may still speak through. */
interface Slot {
  i: RepliableInteraction;
  userId: string;
  /** deferReply → the reply is @original; deferUpdate → @original is the clicked message. */
  mode: 'reply' | 'update';
  ephemeral: boolean;
  at: number;
  /** @original already carries an answer (later posts are follow-ups). */
  originalUsed: boolean;
  messageId?: string;
  originalId?: string;
}

function errCode(e: unknown): string {
  if (e instanceof DiscordAPIError) return `discord ${e.status} ${e.code}`;
  const x = e as { code?: unknown };
  return typeof x?.code === 'string' ? x.code : e instanceof Error ? e.message : String(e);
}

/** A replayed or expired interaction: Discord refuses a second answer. */
const alreadyAnswered = (e: unknown) => e instanceof DiscordAPIError && (e.code === 40060 || e.code === 10062);

/** discord.js options from our API-shaped body. */
function js(m: DiscordMessage) {
  return {
    content: m.content ?? '',
    embeds: (m.embeds ?? []) as never[],
    components: (m.components ?? []) as never[],
    allowedMentions: { parse: [] as never[] },
  };
}

function placeOf(channel: TextBasedChannel | null | undefined): Place {
  if (!channel || channel.isDMBased()) return 'dm';
  return channel.isThread() ? 'thread' : 'channel';
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
  private readonly als = new AsyncLocalStorage<Slot>();
  private readonly held = new Map<string, Slot>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly knownThreads = new Set<string>();
  private handlers?: DiscordHandlers;

  constructor(private readonly o: DiscordAdapterOptions, readonly client: Client, private readonly log: Logger) {}

  async start(h: DiscordHandlers): Promise<void> {
    this.handlers = h;
    const c = this.client;
    c.on(Events.MessageCreate, (m) => this.onMessage(m));
    c.on(Events.InteractionCreate, (i) => this.onInteraction(i));
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
    const until = Date.now() + 10_000;
    while (this.tasks.size > 0 && Date.now() < until) await Promise.race([...this.tasks, new Promise((r) => setTimeout(r, 200))]);
    await this.client.destroy().catch((e: unknown) => this.log.warn({ err: errCode(e) }, 'discord.destroy_failed'));
  }

  /** Resolves when every detached piece of work started so far has finished (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private get botId(): string {
    return this.client.user?.id ?? '';
  }

  // ── outbound (ChatAdapter) ──

  /** Where a conversation's messages go: the thread (a channel of its own), or the DM with a reply to the request. */
  private target(conv: ConversationRef): { channel: string; replyTo?: string } {
    if (isDmTenant(conv.tenantId)) return { channel: conv.channelId, ...(conv.threadId ? { replyTo: conv.threadId } : {}) };
    return { channel: conv.threadId ?? conv.channelId };
  }

  async post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    const parts = render(msg);
    if (conv.ephemeralTo) {
      const slot = this.slotFor(conv, conv.ephemeralTo);
      if (slot) return this.speak(slot, parts);
      // The token expired (or the process restarted): answer in the conversation, addressed to the asker.
      const who = conv.ephemeralTo.replace(/^discord:/, '');
      return this.postChannel({ ...conv, ephemeralTo: undefined }, msg.kind === 'text' ? renderText(`<@${who}> ${msg.text}`) : parts);
    }
    return this.postChannel(conv, parts);
  }

  async update(conv: ConversationRef, ref: MessageRef, msg: Outbound): Promise<void> {
    const body = renderOne(msg);
    const slot = this.als.getStore();
    if (slot && slot.mode === 'update' && slot.messageId === ref.id && !slot.originalUsed) {
      // The clicked card: edited through the click's own interaction (deferUpdate → @original).
      slot.originalUsed = true;
      await slot.i.editReply(js(body));
      return;
    }
    if (conv.ephemeralTo) {
      const s = this.slotFor(conv, conv.ephemeralTo);
      if (s) return void (await s.i.editReply({ ...js(body), message: ref.id === s.originalId ? '@original' : ref.id }));
      return void (await this.postChannel({ ...conv, ephemeralTo: undefined }, [body]));
    }
    await this.client.rest.patch(Routes.channelMessage(this.target(conv).channel, ref.id), { body });
  }

  async notify(conv: ConversationRef, userId: string, text: string): Promise<void> {
    const slot = this.slotFor(conv, userId);
    if (slot) return void (await this.speak(slot, [renderTextSingle(text)], true));
    await this.postChannel(conv, renderText(`${userId} ${text}`));
  }

  /** Posts an "Enter value" button; its click opens a private modal, whose submit comes back as `set KEY="…" on app`. */
  async askSecret(conv: ConversationRef, req: SecretRequest): Promise<void> {
    const body = renderSecretPrompt(req.userId, req.app, req.key);
    const slot = this.slotFor(conv, req.userId);
    if (conv.ephemeralTo && slot) return void (await this.speak(slot, [body], true));
    await this.postChannel({ ...conv, ephemeralTo: undefined }, [body]);
  }

  /** The privacy export, as a file in a DM with the user. */
  async upload(_conv: ConversationRef, userId: string, filename: string, content: string): Promise<void> {
    const dm = await this.client.rest.post(Routes.userChannels(), { body: { recipient_id: userId.replace(/^discord:/, '') } }) as { id: string };
    await this.client.rest.post(Routes.channelMessages(dm.id), {
      body: { content: 'Your Hoist export (JSON).', allowed_mentions: { parse: [] } },
      files: [{ name: filename, data: Buffer.from(content, 'utf8'), contentType: 'application/json' }],
    });
  }

  private async postChannel(conv: ConversationRef, parts: DiscordMessage[]): Promise<MessageRef> {
    const { channel, replyTo } = this.target(conv);
    let first: string | undefined;
    for (const [n, part] of parts.entries()) {
      const body = n === 0 && replyTo ? { ...part, message_reference: { message_id: replyTo, fail_if_not_exists: false } } : part;
      const res = await this.client.rest.post(Routes.channelMessages(channel), { body }) as { id: string };
      first ??= res.id;
    }
    if (conv.threadId && !isDmTenant(conv.tenantId)) await this.rememberThread(conv.tenantId, conv.threadId);
    return { id: first! };
  }

  /** Answers through an interaction: the deferred @original first, then (ephemeral when asked) follow-ups. */
  private async speak(slot: Slot, parts: DiscordMessage[], ephemeral = slot.ephemeral): Promise<MessageRef> {
    let first: string | undefined;
    for (const part of parts) {
      if (slot.mode === 'reply' && !slot.originalUsed && slot.ephemeral === ephemeral) {
        slot.originalUsed = true;
        const m = await slot.i.editReply(js(part));
        slot.originalId = m.id;
        first ??= m.id;
      } else {
        const m = await slot.i.followUp({ ...js(part), ...(ephemeral ? { flags: EPHEMERAL } : {}) });
        first ??= m.id;
      }
    }
    return { id: first! };
  }

  /** The interaction `userId` is speaking through: the one being handled, else one held for its conversation. */
  private slotFor(conv: ConversationRef, userId: string): Slot | undefined {
    const now = Date.now();
    const cur = this.als.getStore();
    if (cur && cur.userId === userId && now - cur.at < TOKEN_TTL_MS) return cur;
    const held = this.held.get(this.heldKey(conv, userId));
    return held && now - held.at < TOKEN_TTL_MS ? held : undefined;
  }

  private heldKey(conv: ConversationRef, userId: string): string {
    return `${conv.tenantId}:${conv.threadId ?? conv.channelId}:${userId}`;
  }

  private hold(conv: ConversationRef, slot: Slot): void {
    const now = Date.now();
    for (const [k, s] of this.held) if (now - s.at >= TOKEN_TTL_MS) this.held.delete(k);
    this.held.set(this.heldKey(conv, slot.userId), slot);
  }

  private async rememberThread(tenantId: string, threadId: string): Promise<void> {
    const k = `${tenantId}:${threadId}`;
    if (this.knownThreads.has(k)) return;
    try {
      await this.o.threads.remember(tenantId, threadId);
      this.knownThreads.add(k);
    } catch (e) {
      this.log.warn({ err: errCode(e) }, 'discord.thread_memory_failed');
    }
  }

  private async startThread(conv: ConversationRef, fromMessage: string, verb: string): Promise<ConversationRef> {
    try {
      const thread = await this.client.rest.post(Routes.threads(conv.channelId, fromMessage), {
        body: { name: threadName(verb), auto_archive_duration: THREAD_ARCHIVE_MIN },
      }) as { id: string };
      await this.rememberThread(conv.tenantId, thread.id);
      return { ...conv, threadId: thread.id };
    } catch (e) {
      // No permission to create threads (or an announcement channel): answer in the channel instead.
      this.log.warn({ err: errCode(e) }, 'discord.thread_failed');
      return conv;
    }
  }

  // ── inbound ──

  private h(): DiscordHandlers {
    if (!this.handlers) throw new Error('discord adapter not started');
    return this.handlers;
  }

  /** Runs work off the gateway's event loop turn; failures are logged and, when we know where, answered. */
  private detach(what: string, work: () => Promise<void>, answer?: () => Promise<unknown> | undefined): void {
    const t = (async () => {
      try {
        await work();
      } catch (e) {
        this.log.error({ err: errCode(e), op: what }, 'discord.handler_failed');
        await answer?.()?.catch((err: unknown) => this.log.error({ err: errCode(err) }, 'reply.failed'));
      }
    })();
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  private static readonly OOPS = 'Something went wrong inside Hoist while handling that; the error was logged and nothing was changed.';

  private onMessage(m: Message): void {
    let conv: ConversationRef | undefined;
    this.detach('message', async () => {
      const channel = m.channel;
      const input: MessageInput = {
        id: m.id, content: m.content ?? '', authorId: m.author.id, authorBot: m.author.bot,
        notFromAPerson: Boolean(m.webhookId) || m.system, guildId: m.guildId, channelId: m.channelId,
        place: placeOf(channel), parentId: channel.isThread() ? channel.parentId : null,
      };
      const n = normalizeMessage(input, this.botId, new Date());
      if (n.kind === 'ignore') return void this.log.debug({ reason: n.reason }, 'discord.ignored');
      const msg = n.msg;
      if (n.onlyInHoistThread) {
        const ownedByHoist = channel.isThread() && channel.ownerId === this.botId;
        if (!ownedByHoist && !(await this.o.threads.isHoistThread(msg.tenantId, msg.conversation.threadId!))) return;
      }
      if (!(await this.o.claimEvent(m.id))) return void this.log.info({ event: m.id }, 'discord.duplicate');
      conv = msg.conversation;
      if (n.needsThread) conv = await this.startThread(conv, m.id, n.verb);
      this.o.metrics?.request(n.verb);
      await this.h().message({ ...msg, conversation: conv });
    }, () => (conv ? this.post(conv, { kind: 'text', text: DiscordAdapter.OOPS }) : undefined));
  }

  private interactionInput(i: Interaction): InteractionInput {
    const channel = i.channel;
    return {
      id: i.id, userId: i.user.id, userBot: i.user.bot, guildId: i.guildId, channelId: i.channelId ?? '',
      place: i.guildId ? (channel?.isThread() ? 'thread' : 'channel') : 'dm',
      parentId: channel?.isThread() ? channel.parentId : null,
      ...('message' in i && i.message ? { messageId: i.message.id } : {}),
    };
  }

  private onInteraction(i: Interaction): void {
    if (i.user.bot) return;
    if (i.isButton()) return this.onButton(i);
    if (i.isModalSubmit()) return this.onModal(i);
    if (i.isChatInputCommand() && i.commandName === 'hoist') return this.onSlash(i);
    this.log.debug({ type: i.type }, 'discord.interaction_ignored');
  }

  /** Answers first; a replayed interaction fails here (Discord refuses a second answer) and stops. */
  private async ack(i: RepliableInteraction, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      if (alreadyAnswered(e)) this.log.info({ event: i.id }, 'discord.interaction_already_answered');
      else this.log.warn({ err: errCode(e), event: i.id }, 'discord.ack_failed');
      return false;
    }
  }

  private slot(i: RepliableInteraction, mode: Slot['mode'], ephemeral: boolean, messageId?: string): Slot {
    return { i, userId: `discord:${i.user.id}`, mode, ephemeral, at: Date.now(), originalUsed: false, ...(messageId ? { messageId } : {}) };
  }

  private onButton(i: ButtonInteraction): void {
    const c = parseCustomId(i.customId);
    const input = this.interactionInput(i);
    if (c?.kind === 'secret') {
      // The modal must be the first answer; it is for whoever clicked, who is then authorized as themselves.
      this.detach('secret-button', async () => {
        await this.ack(i, () => i.showModal(renderSecretModal(i.customId, c.app, c.key) as never));
      });
      return;
    }
    if (!c) {
      this.detach('unknown-button', async () => {
        await this.ack(i, () => i.reply({ content: "I don't know that button (or it is malformed); nothing was done.", flags: EPHEMERAL }));
      });
      return;
    }
    const slot = this.slot(i, 'update', true, input.messageId);
    this.detach('decision', async () => {
      if (!(await this.ack(i, () => i.deferUpdate()))) return;
      if (!(await this.o.claimEvent(i.id))) return void this.log.info({ event: i.id }, 'discord.duplicate');
      this.o.metrics?.decision(c.decision);
      await this.als.run(slot, () => this.h().decision(normalizeDecision(input, c)));
    }, () => (i.deferred ? i.followUp({ content: DiscordAdapter.OOPS, flags: EPHEMERAL }) : undefined));
  }

  private onModal(i: ModalSubmitInteraction): void {
    const c = parseCustomId(i.customId);
    const input = this.interactionInput(i);
    const slot = this.slot(i, 'reply', true);
    this.detach('secret-submit', async () => {
      let value: string | undefined;
      try { value = i.fields.getTextInputValue(SECRET_INPUT); } catch { value = undefined; }
      if (c?.kind !== 'secret' || value === undefined) {
        return void (await this.ack(i, () => i.reply({ content: 'This form is no longer valid; ask again.', flags: EPHEMERAL })));
      }
      if (!value.trim()) return void (await this.ack(i, () => i.reply({ content: 'Enter a value; nothing was changed.', flags: EPHEMERAL })));
      if (!(await this.ack(i, () => i.deferReply({ flags: EPHEMERAL })))) return;
      if (!(await this.o.claimEvent(i.id))) return;
      const user = `discord:${i.user.id}`;
      let conv = conversationOf(input);
      if (input.place === 'channel') {
        const root = await this.postChannel(conv, [renderThreadRoot(user, 'set an env var')]);
        conv = await this.startThread(conv, root.id, 'set');
      }
      slot.originalUsed = true;
      await i.editReply({ content: `🔒 Got it: the value for ${c.key} is sealed at once and never shown. The proposal follows${conv.threadId && !isDmTenant(conv.tenantId) ? ` in <#${conv.threadId}>` : ''}.`, allowedMentions: { parse: [] } });
      this.o.metrics?.request('set');
      await this.als.run(slot, () => this.h().message({
        platform: 'discord', eventId: i.id, tenantId: conv.tenantId, userId: user, text: secretAsChat(c.app, c.key, value!), conversation: conv, receivedAt: new Date(),
      }));
    }, () => (i.deferred ? i.followUp({ content: DiscordAdapter.OOPS, flags: EPHEMERAL }) : undefined));
  }

  private onSlash(i: ChatInputCommandInteraction): void {
    const sub = i.options.getSubcommand(false) ?? 'help';
    const opts: Record<string, SlashOption | undefined> = {};
    for (const opt of i.options.data[0]?.options ?? []) opts[opt.name] = opt.value;
    const req = slashText(sub, opts);
    const input = this.interactionInput(i);
    const user = `discord:${i.user.id}`;
    if (req.secret) {
      const { app, key } = req.secret;
      const customId = validSecretTarget(app, key) ? secretCustomId(app, key) : undefined;
      this.detach('slash-set', async () => {
        this.o.metrics?.request('set');
        if (!customId) return void (await this.ack(i, () => i.reply({ content: `Usage: /hoist set app:<app> key:<KEY> (letters, digits and _; app names are lowercase).`, flags: EPHEMERAL })));
        await this.ack(i, () => i.showModal(renderSecretModal(customId, app, key) as never));
      });
      return;
    }
    const slot = this.slot(i, 'reply', req.private);
    this.detach('slash', async () => {
      if (!(await this.ack(i, () => i.deferReply(req.private ? { flags: EPHEMERAL } : {})))) return;
      if (!(await this.o.claimEvent(i.id))) return;
      let conv = conversationOf(input);
      if (req.private) {
        conv = { ...conv, ephemeralTo: user };
        this.hold(conv, slot);
      } else {
        // A public root naming the verb only; the card and progress go in a thread on it (a reply chain in DMs).
        slot.originalUsed = true;
        const root = await i.editReply(js(renderThreadRoot(user, req.verb)));
        slot.originalId = root.id;
        if (input.place === 'channel') conv = await this.startThread(conv, root.id, req.verb);
        else if (input.place === 'dm') conv = { ...conv, threadId: root.id };
      }
      this.o.metrics?.request(req.verb);
      await this.als.run(slot, () => this.h().message({
        platform: 'discord', eventId: i.id, tenantId: conv.tenantId, userId: user, text: req.text, conversation: conv, receivedAt: new Date(),
      }));
    }, () => (i.deferred ? i.followUp({ content: DiscordAdapter.OOPS, flags: EPHEMERAL }) : undefined));
  }
}
