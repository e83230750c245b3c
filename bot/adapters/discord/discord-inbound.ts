/**
 * Discord inbound: gateway messages and interactions, to the pipeline.
 * - messages (mentions, DMs, replies in Hoist threads): normalize → dedupe on the message id
 *   (`claimEvent`, persistent: a resumed session that replays an event is processed once) →
 *   a thread from the request message (guild channels) → pipeline.
 * - interactions: answered within Discord's 3 s before any other work — buttons `deferUpdate`,
 *   slash commands `deferReply` (ephemeral for read-only verbs), `set` opens the value modal
 *   at once — then dedupe on the interaction id → pipeline, with the interaction as the
 *   ambient reply channel (DiscordOutbound.within).
 * Errors never escape a handler: they are logged by code and answered where the request came from.
 * Discord delivers each message and interaction once (no retry, unlike Slack's 5xx path): when
 * the database cannot be reached for the claim, nothing else happens (no thread, no pipeline)
 * and the person is told so where they spoke, with a coded `service_unavailable` sentence.
 */
import {
  DiscordAPIError, type ButtonInteraction, type ChatInputCommandInteraction, type Client, type Interaction, type Message,
  type ModalSubmitInteraction, type RepliableInteraction, type TextBasedChannel,
} from 'discord.js';
import { HoistError, isHoistError, userMessageFor } from '../../core/errors.ts';
import type { ConversationRef, Decision, InboundMessage, Logger } from '../../core/types.ts';
import {
  conversationOf, isDmTenant, normalizeDecision, normalizeMessage, parseCustomId, secretAsChat, slashText, validSecretTarget,
  type InteractionInput, type MessageInput, type Place, type SlashOption,
} from './discord-normalize.ts';
import { EPHEMERAL, errCode, js, type DiscordOutbound, type Slot, type ThreadMemory } from './discord-outbound.ts';
import { renderSecretModal, renderText, renderThreadRoot, secretCustomId, SECRET_INPUT } from './discord-render.ts';

export interface DiscordMetrics {
  request(command: string): void;
  decision(decision: string): void;
  rateLimited(): void;
}

export interface DiscordHandlers {
  message(m: InboundMessage): Promise<void>;
  decision(d: Decision): Promise<void>;
}

export interface DiscordInboundDeps {
  client: Client;
  out: DiscordOutbound;
  log: Logger;
  /** True the first time a platform event id is seen, across restarts and instances. */
  claimEvent(eventId: string): Promise<boolean>;
  threads: ThreadMemory;
  metrics?: DiscordMetrics;
}

const OOPS = 'Something went wrong inside Hoist while handling that; the error was logged and nothing was changed.';

export const DB_UNAVAILABLE = "Hoist can't reach its database right now, so I did not act on that (nothing ran and nothing was stored). Please send it again in a minute.";

/** Socket and client-level codes of a database that is down, restarting or cut off (postgres.js passes socket errors through). */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

/** The code of the first error in a `cause` / AggregateError chain that says the database could not be reached, else undefined. */
export function unreachableCode(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 5) return undefined;
  const code = (e as { code?: unknown }).code;
  // SQLSTATE 08xxx connection exceptions; 57P01-03 admin/crash shutdown, cannot connect now; 53300 too many connections.
  if (typeof code === 'string' && (UNREACHABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === '53300')) return code;
  const errors = (e as { errors?: unknown }).errors;
  for (const inner of Array.isArray(errors) ? (errors as unknown[]) : []) {
    const c = unreachableCode(inner, depth + 1);
    if (c) return c;
  }
  return unreachableCode((e as { cause?: unknown }).cause, depth + 1);
}

/** What the person reads when handling failed: the coded sentence for a HoistError, else the generic one. */
const answerFor = (e: unknown) => (isHoistError(e) ? userMessageFor(e) : OOPS);

/** A replayed or expired interaction: Discord refuses a second answer. */
const alreadyAnswered = (e: unknown) => e instanceof DiscordAPIError && (e.code === 40060 || e.code === 10062);

function placeOf(channel: TextBasedChannel | null | undefined): Place {
  if (!channel || channel.isDMBased()) return 'dm';
  return channel.isThread() ? 'thread' : 'channel';
}

export class DiscordInbound {
  private readonly tasks = new Set<Promise<void>>();
  private handlers?: DiscordHandlers;

  constructor(private readonly d: DiscordInboundDeps) {}

  start(h: DiscordHandlers): void {
    this.handlers = h;
  }

  /** Waits for detached work, at most until `deadline` (epoch ms); without one, until all of it has finished. */
  async settle(deadline?: number): Promise<void> {
    if (deadline === undefined) {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
      return;
    }
    while (this.tasks.size > 0 && Date.now() < deadline) await Promise.race([...this.tasks, new Promise((r) => setTimeout(r, 200))]);
  }

  private get botId(): string {
    return this.d.client.user?.id ?? '';
  }

  /** `claimEvent`, with a database that cannot be reached turned into a coded `service_unavailable`. */
  private async claim(eventId: string): Promise<boolean> {
    try {
      return await this.d.claimEvent(eventId);
    } catch (e) {
      if (unreachableCode(e)) throw new HoistError('service_unavailable', DB_UNAVAILABLE, { retryable: true, cause: e });
      throw e;
    }
  }

  /**
   * An ephemeral answer after the interaction was acknowledged. Discord turns the first follow-up
   * after a deferred reply into that reply, with the deferral's visibility: a public "thinking…"
   * is removed first, so the answer stays private to the person who asked.
   */
  private async privately(i: RepliableInteraction, slot: Slot | undefined, text: string): Promise<unknown> {
    if (!i.deferred && !i.replied) return undefined;
    if (slot?.mode === 'reply' && !slot.ephemeral && !slot.originalUsed) {
      slot.originalUsed = true;
      await i.deleteReply().catch((err: unknown) => this.d.log.warn({ err: errCode(err) }, 'discord.delete_reply_failed'));
    }
    return i.followUp({ content: text, flags: EPHEMERAL, allowedMentions: { parse: [] } });
  }

  private h(): DiscordHandlers {
    if (!this.handlers) throw new Error('discord adapter not started');
    return this.handlers;
  }

  /**
   * Runs work off the gateway's event loop turn; failures are logged once by code (never the
   * message text) and, when we know where, answered with the sentence `answer` picks for the error.
   */
  private detach(what: string, work: () => Promise<void>, answer?: (e: unknown) => Promise<unknown> | undefined): void {
    const t = (async () => {
      try {
        await work();
      } catch (e) {
        if (isHoistError(e) && e.code === 'service_unavailable') this.d.log.warn({ err: e.code, cause: unreachableCode(e.cause), op: what }, 'discord.db_unavailable');
        else this.d.log.error({ err: errCode(e), op: what }, 'discord.handler_failed');
        await answer?.(e)?.catch((err: unknown) => this.d.log.error({ err: errCode(err), op: what }, 'reply.failed'));
      }
    })();
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  onMessage(m: Message): void {
    /** Where the request was said (before any thread): known once the message is for Hoist. */
    let said: ConversationRef | undefined;
    let conv: ConversationRef | undefined;
    this.detach('message', async () => {
      const channel = m.channel;
      const input: MessageInput = {
        id: m.id, content: m.content ?? '', authorId: m.author.id, authorBot: m.author.bot,
        notFromAPerson: Boolean(m.webhookId) || m.system, guildId: m.guildId, channelId: m.channelId,
        place: placeOf(channel), parentId: channel.isThread() ? channel.parentId : null,
      };
      const n = normalizeMessage(input, this.botId, new Date());
      if (n.kind === 'ignore') return void this.d.log.debug({ reason: n.reason }, 'discord.ignored');
      const msg = n.msg;
      if (n.onlyInHoistThread) {
        const ownedByHoist = channel.isThread() && channel.ownerId === this.botId;
        if (!ownedByHoist && !(await this.d.threads.isHoistThread(msg.tenantId, msg.conversation.threadId!))) return;
      }
      said = msg.conversation;
      if (!(await this.claim(m.id))) return void this.d.log.info({ event: m.id }, 'discord.duplicate');
      conv = msg.conversation;
      if (n.needsThread) conv = await this.d.out.startThread(conv, m.id, n.verb);
      this.d.metrics?.request(n.verb);
      await this.h().message({ ...msg, conversation: conv });
    }, (e) => {
      // Once handling began, answer in its conversation; a claim that failed answers the request itself.
      if (conv) return this.d.out.post(conv, { kind: 'text', text: answerFor(e) });
      return said ? this.d.out.postChannel(said, renderText(answerFor(e)), m.id) : undefined;
    });
  }

  onInteraction(i: Interaction): void {
    if (i.user.bot) return;
    if (i.isButton()) return this.onButton(i);
    if (i.isModalSubmit()) return this.onModal(i);
    if (i.isChatInputCommand() && i.commandName === 'hoist') return this.onSlash(i);
    this.d.log.debug({ type: i.type }, 'discord.interaction_ignored');
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

  /** Answers first; a replayed interaction fails here (Discord refuses a second answer) and stops. */
  private async ack(i: RepliableInteraction, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      if (alreadyAnswered(e)) this.d.log.info({ event: i.id }, 'discord.interaction_already_answered');
      else this.d.log.warn({ err: errCode(e), event: i.id }, 'discord.ack_failed');
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
      if (!(await this.claim(i.id))) return void this.d.log.info({ event: i.id }, 'discord.duplicate');
      this.d.metrics?.decision(c.decision);
      await this.d.out.within(slot, () => this.h().decision(normalizeDecision(input, c)));
    }, (e) => this.privately(i, slot, answerFor(e)));
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
      if (!(await this.claim(i.id))) return;
      const user = `discord:${i.user.id}`;
      let conv = conversationOf(input);
      if (input.place === 'channel') {
        const root = await this.d.out.postChannel(conv, [renderThreadRoot(user, 'set an env var')]);
        conv = await this.d.out.startThread(conv, root.id, 'set');
      }
      slot.originalUsed = true;
      await i.editReply({ content: `🔒 Got it: the value for ${c.key} is sealed at once and never shown. The proposal follows${conv.threadId && !isDmTenant(conv.tenantId) ? ` in <#${conv.threadId}>` : ''}.`, allowedMentions: { parse: [] } });
      this.d.metrics?.request('set');
      await this.d.out.within(slot, () => this.h().message({
        platform: 'discord', eventId: i.id, tenantId: conv.tenantId, userId: user, text: secretAsChat(c.app, c.key, value!), conversation: conv, receivedAt: new Date(),
      }));
    }, (e) => this.privately(i, slot, answerFor(e)));
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
        this.d.metrics?.request('set');
        if (!customId) return void (await this.ack(i, () => i.reply({ content: `Usage: /hoist set app:<app> key:<KEY> (letters, digits and _; app names are lowercase).`, flags: EPHEMERAL })));
        await this.ack(i, () => i.showModal(renderSecretModal(customId, app, key) as never));
      });
      return;
    }
    const slot = this.slot(i, 'reply', req.private);
    this.detach('slash', async () => {
      if (!(await this.ack(i, () => i.deferReply(req.private ? { flags: EPHEMERAL } : {})))) return;
      if (!(await this.claim(i.id))) return;
      let conv = conversationOf(input);
      if (req.private) {
        conv = { ...conv, ephemeralTo: user };
        this.d.out.hold(conv, slot);
      } else {
        // A public root naming the verb only; the card and progress go in a thread on it (a reply chain in DMs).
        slot.originalUsed = true;
        const root = await i.editReply(js(renderThreadRoot(user, req.verb)));
        slot.originalId = root.id;
        if (input.place === 'channel') conv = await this.d.out.startThread(conv, root.id, req.verb);
        else if (input.place === 'dm') conv = { ...conv, threadId: root.id };
      }
      this.d.metrics?.request(req.verb);
      await this.d.out.within(slot, () => this.h().message({
        platform: 'discord', eventId: i.id, tenantId: conv.tenantId, userId: user, text: req.text, conversation: conv, receivedAt: new Date(),
      }));
    }, (e) => this.privately(i, slot, answerFor(e)));
  }
}
