/**
 * Slack outbound: every Web API call and response_url post Hoist makes. Calls go through
 * one serial queue per channel that waits out 429 Retry-After and retries the same call,
 * so nothing is lost or reordered. Private answers prefer the slash command's response_url
 * (held in memory: 5 posts within 30 minutes) and fall back to chat.postEphemeral; a
 * secret prompt opens the modal while the request's trigger_id is fresh (3 s), else posts
 * a private "Enter value" button. Files go to a DM with the user (files.uploadV2 flow).
 */
import { webApi } from '@slack/bolt';
import type { ConversationRef, Logger, MessageRef, Outbound, SecretRequest } from '../../core/types.ts';
import {
  render, renderSecretModal, renderSecretPrompt, renderShareable, renderText, type SecretMeta, type SlackMessage,
} from './slack-render.ts';

export type WebClient = InstanceType<typeof webApi.WebClient>;

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

export function errCode(e: unknown): string {
  const x = e as { code?: string; data?: { error?: string } };
  return x?.data?.error ?? x?.code ?? (e instanceof Error ? e.message : String(e));
}

export const slackUser = (hoistUserId: string) => hoistUserId.replace(/^slack:/, '');

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

export interface SlackOutboundDeps {
  client: WebClient;
  log: Logger;
  threads: ThreadMemory;
  metrics?: SlackMetrics;
  /** How many 429s in a row one call waits out before giving up. */
  maxRateLimitWaits?: number;
}

export class SlackOutbound {
  private readonly queues = new ChannelQueues();
  private readonly triggers = new Map<string, { id: string; at: number }>();
  private readonly responseUrls = new Map<string, { url: string; at: number; uses: number }>();
  private readonly knownThreads = new Set<string>();

  constructor(private readonly d: SlackOutboundDeps) {}

  async post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    if (conv.ephemeralTo) return this.postPrivate(conv, slackUser(conv.ephemeralTo), renderShareable(msg));
    const m = render(msg);
    const res = await this.call(conv.channelId, () => this.d.client.chat.postMessage({
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
    await this.call(conv.channelId, () => this.d.client.chat.update({ channel: conv.channelId, ts: ref.id, text: m.text, blocks: m.blocks as never }));
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
        await this.d.client.views.open({ trigger_id: trigger.id, view: renderSecretModal(meta) as never });
        return;
      } catch (e) {
        this.d.log.warn({ err: errCode(e) }, 'slack.modal_failed');
      }
    }
    await this.postPrivate(conv, slackUser(req.userId), renderSecretPrompt(meta), true);
  }

  /**
   * The privacy export, as a file in the user's DM with Hoist: conversations.open, then the
   * files.uploadV2 flow (files.getUploadURLExternal → POST the bytes to its upload_url →
   * files.completeUploadExternal with the DM as channel_id). Needs the im:write and files:write scopes.
   */
  async upload(_conv: ConversationRef, userId: string, filename: string, content: string): Promise<void> {
    const user = slackUser(userId);
    const dm = await this.call(`dm:${user}`, () => this.d.client.conversations.open({ users: user }));
    const channel = dm.channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel');
    await this.call(channel, () => this.d.client.filesUploadV2({
      channel_id: channel, filename, title: filename, file: Buffer.from(content, 'utf8'), initial_comment: 'Your Hoist export (JSON).',
    }));
  }

  /** A trigger_id usable by askSecret for this event while it is fresh (slash commands that ask for a value). */
  holdTrigger(eventId: string, triggerId: string, at: number): void {
    this.triggers.set(eventId, { id: triggerId, at });
  }

  dropTrigger(eventId: string): void {
    this.triggers.delete(eventId);
  }

  /** The slash command's response_url: private answers to `user` in `channel` go through it while it lasts. */
  holdResponseUrl(channel: string, user: string, url: string): void {
    this.responseUrls.set(`${channel}:${user}`, { url, at: Date.now(), uses: 0 });
  }

  /** A message only `user` sees: via the command's response_url when we hold one, else chat.postEphemeral. */
  private async postPrivate(conv: ConversationRef, user: string, m: SlackMessage, webApiOnly = false): Promise<MessageRef> {
    const held = webApiOnly ? undefined : this.responseUrls.get(`${conv.channelId}:${user}`);
    if (held && held.uses < RESPONSE_URL_USES && Date.now() - held.at < RESPONSE_URL_TTL_MS) {
      held.uses++;
      await this.call(conv.channelId, () => this.respond(held.url, { response_type: 'ephemeral', replace_original: false, text: m.text, blocks: m.blocks }));
      return { id: `ephemeral:${Date.now()}` };
    }
    const res = await this.call(conv.channelId, () => this.d.client.chat.postEphemeral({
      channel: conv.channelId, user, ...(conv.threadId ? { thread_ts: conv.threadId } : {}), text: m.text, blocks: m.blocks as never,
    }));
    return { id: String(res.message_ts ?? `ephemeral:${Date.now()}`) };
  }

  async respond(url: string, body: object): Promise<void> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
    if (res.status === 429) throw new RateLimited(Number(res.headers.get('retry-after') ?? '1') || 1);
    if (!res.ok) throw new Error(`response_url answered ${res.status}`);
  }

  /** Serial per channel; a 429 is waited out (Retry-After) and the same call retried, keeping order. */
  call<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    return this.queues.run(channel, async () => {
      for (let waits = 0; ; waits++) {
        try {
          return await fn();
        } catch (e) {
          const after = retryAfterOf(e);
          if (after === undefined || waits >= (this.d.maxRateLimitWaits ?? 5)) throw e;
          this.d.metrics?.rateLimited();
          this.d.log.warn({ channel, retryAfter: after }, 'slack.rate_limited');
          await new Promise((r) => setTimeout(r, Math.max(after, 0) * 1000));
        }
      }
    });
  }

  async rememberThread(tenantId: string, channel: string, ts: string): Promise<void> {
    const k = `${tenantId}:${channel}:${ts}`;
    if (this.knownThreads.has(k)) return;
    try {
      await this.d.threads.remember(tenantId, channel, ts);
      this.knownThreads.add(k);
    } catch (e) {
      this.d.log.warn({ err: errCode(e) }, 'slack.thread_memory_failed');
    }
  }
}
