/**
 * Discord outbound: everything Hoist sends. A conversation's messages go to its thread (a
 * channel of its own) or, in DMs, as a reply chain to the request. While the pipeline
 * handles an interaction, that interaction is the ambient reply channel (AsyncLocalStorage,
 * `within`): the card outcome edits the clicked message through it, private answers are
 * ephemeral follow-ups. Private answers that arrive later use the asker's held interaction
 * token (valid 15 minutes; in memory only, never stored). Text over 2000 characters is split
 * and embeds fitted (discord-render.ts); nothing rendered pings anyone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DiscordAPIError, MessageFlags, Routes, type Client, type RepliableInteraction } from 'discord.js';
import type { ConversationRef, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import { isDmTenant } from './discord-normalize.ts';
import { render, renderOne, renderSecretPrompt, renderText, renderTextSingle, threadName, type DiscordMessage } from './discord-render.ts';

/** Threads Hoist started or answered in; kept outside the process (Redis), so any instance knows them. */
export interface ThreadMemory {
  remember(tenantId: string, threadId: string): Promise<void>;
  isHoistThread(tenantId: string, threadId: string): Promise<boolean>;
}

/** Interaction tokens live 15 minutes; past this we no longer answer through one. */
const TOKEN_TTL_MS = 14 * 60_000;
/** Discord auto-archives a quiet thread after this many minutes (one day). */
const THREAD_ARCHIVE_MIN = 1440;
export const EPHEMERAL = MessageFlags.Ephemeral;

/** An interaction we answered (deferred) and may still speak through. */
export interface Slot {
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

export function errCode(e: unknown): string {
  if (e instanceof DiscordAPIError) return `discord ${e.status} ${e.code}`;
  const x = e as { code?: unknown };
  return typeof x?.code === 'string' ? x.code : e instanceof Error ? e.message : String(e);
}

/** discord.js options from our API-shaped body. */
export function js(m: DiscordMessage) {
  return {
    content: m.content ?? '',
    embeds: (m.embeds ?? []) as never[],
    components: (m.components ?? []) as never[],
    allowedMentions: { parse: [] as never[] },
  };
}

export class DiscordOutbound {
  private readonly als = new AsyncLocalStorage<Slot>();
  private readonly held = new Map<string, Slot>();
  private readonly knownThreads = new Set<string>();

  constructor(private readonly client: Client, private readonly threads: ThreadMemory, private readonly log: Logger) {}

  /** Runs `fn` with `slot` as the ambient interaction that answers go through. */
  within<T>(slot: Slot, fn: () => Promise<T>): Promise<T> {
    return this.als.run(slot, fn);
  }

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

  /** Posts in the conversation; `replyTo` (a message id there) makes the first part a reply to it. */
  async postChannel(conv: ConversationRef, parts: DiscordMessage[], replyTo = this.target(conv).replyTo): Promise<MessageRef> {
    const { channel } = this.target(conv);
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

  /** Keeps a private slash command's interaction, so later answers for its conversation stay private. */
  hold(conv: ConversationRef, slot: Slot): void {
    const now = Date.now();
    for (const [k, s] of this.held) if (now - s.at >= TOKEN_TTL_MS) this.held.delete(k);
    this.held.set(this.heldKey(conv, slot.userId), slot);
  }

  private async rememberThread(tenantId: string, threadId: string): Promise<void> {
    const k = `${tenantId}:${threadId}`;
    if (this.knownThreads.has(k)) return;
    try {
      await this.threads.remember(tenantId, threadId);
      this.knownThreads.add(k);
    } catch (e) {
      this.log.warn({ err: errCode(e) }, 'discord.thread_memory_failed');
    }
  }

  async startThread(conv: ConversationRef, fromMessage: string, verb: string): Promise<ConversationRef> {
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
}
