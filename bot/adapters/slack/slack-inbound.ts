/**
 * Slack inbound: Bolt listeners for events (mentions, messages), the slash command, buttons
 * and the secret modal. Each acks first (events are acked by Bolt before listeners run);
 * the rest runs detached: normalize → dedupe on the platform id (`claimEvent`, persistent) →
 * pipeline handlers. Errors never escape a listener: they are logged by code and, when the
 * conversation is known, answered in it.
 */
import type { App } from '@slack/bolt';
import type { ConversationRef, Decision, InboundMessage, Logger } from '../../core/types.ts';
import {
  commandInput, commandOf, interactionInput, MAX_TEXT, normalizeDecision, normalizeMention, normalizeMessage, parseSecretMeta,
  secretAsChat, slashText, submittedValue, type BotIdentity, type Normalized,
} from './slack-normalize.ts';
import { errCode, type SlackMetrics, type SlackOutbound, type ThreadMemory } from './slack-outbound.ts';
import { ACTION_APPROVE, ACTION_CANCEL, ACTION_SECRET, ACTION_SHARE, renderSecretModal, renderShared, VIEW_SECRET } from './slack-render.ts';

export interface SlackHandlers {
  message(m: InboundMessage): Promise<void>;
  decision(d: Decision): Promise<void>;
}

export interface SlackInboundDeps {
  app: App;
  me: BotIdentity;
  out: SlackOutbound;
  log: Logger;
  /** True the first time a platform event id is seen, across restarts and instances. */
  claimEvent(eventId: string): Promise<boolean>;
  threads: ThreadMemory;
  metrics?: SlackMetrics;
}

export class SlackInbound {
  private readonly tasks = new Set<Promise<void>>();
  private handlers?: SlackHandlers;

  constructor(private readonly d: SlackInboundDeps) {}

  get started(): boolean {
    return this.handlers !== undefined;
  }

  listen(h: SlackHandlers): void {
    this.handlers = h;
    const app = this.d.app;
    const onEvent = (normalize: typeof normalizeMention) => async ({ body }: { body: unknown }) => {
      // Bolt has already acked (processBeforeResponse: false); nothing below delays Slack.
      const eventId = (body as { event_id?: string }).event_id;
      let conv: ConversationRef | undefined;
      this.detach('event', async () => {
        const n = normalize(body, this.d.me, new Date());
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
        this.d.metrics?.decision(decision);
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
        await this.d.out.call(i.channel, () => app.client.chat.postMessage({
          channel: i.channel!, ...(i.thread ? { thread_ts: i.thread } : {}), text: m.text, blocks: m.blocks as never, unfurl_links: false, unfurl_media: false,
        }));
        if (i.responseUrl) {
          await this.d.out.respond(i.responseUrl, { delete_original: true }).catch((e: unknown) => this.d.log.info({ err: errCode(e) }, 'slack.share_cleanup_failed'));
        }
      });
    });

    app.action(ACTION_SECRET, async ({ ack, body, action }) => {
      await ack();
      this.detach('secret-button', async () => {
        const i = interactionInput(body);
        const meta = parseSecretMeta((action as { value?: unknown }).value);
        if (!i?.triggerId || !meta || (i.channel && i.channel !== meta.channel)) return this.unknownButton(body);
        await app.client.views.open({ trigger_id: i.triggerId, view: renderSecretModal(meta) as never });
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
        if (!(await this.d.claimEvent(eventId))) return;
        conv = { platform: 'slack', tenantId: i.tenantId, channelId: meta.channel, ...(meta.thread ? { threadId: meta.thread } : {}) };
        if (!conv.threadId) conv = await this.startThread(conv, i.user, 'a new env var value');
        this.d.metrics?.request('set');
        // The exact chat form of a pasted secret, so the same redact stage seals it whole.
        await this.h().message({
          platform: 'slack', eventId, tenantId: i.tenantId, userId: `slack:${i.user}`, text: secretAsChat(meta, value), conversation: conv, receivedAt: new Date(),
        });
      }, () => conv);
    });

    app.error(async (e) => {
      this.d.log.error({ err: errCode(e) }, 'slack.listener_failed');
    });
  }

  /** Waits for detached work, at most until `deadline` (epoch ms); without one, until all of it has finished. */
  async settle(deadline?: number): Promise<void> {
    if (deadline === undefined) {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
      return;
    }
    while (this.tasks.size > 0 && Date.now() < deadline) await Promise.race([...this.tasks, new Promise((r) => setTimeout(r, 200))]);
  }

  /** Runs work after the ack; failures are logged and, when we know where, answered. */
  private detach(what: string, work: () => Promise<void>, answerIn?: () => ConversationRef | undefined): void {
    const t = (async () => {
      try {
        await work();
      } catch (e) {
        this.d.log.error({ err: errCode(e), op: what }, 'slack.handler_failed');
        const conv = answerIn?.();
        if (conv) {
          await this.d.out.post(conv, { kind: 'text', text: 'Something went wrong inside Hoist while handling that; the error was logged and nothing was changed.' })
            .catch((err: unknown) => this.d.log.error({ err: errCode(err) }, 'reply.failed'));
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
    if (n.kind === 'ignore') return void this.d.log.debug({ reason: n.reason }, 'slack.ignored');
    if (n.kind === 'message' && n.onlyInHoistThread) {
      const c = n.msg.conversation;
      if (!(await this.d.threads.isHoistThread(c.tenantId, c.channelId, c.threadId!))) return;
    }
    if (claimId && !(await this.d.claimEvent(claimId))) return void this.d.log.info({ event: claimId }, 'slack.duplicate');
    switch (n.kind) {
      case 'empty':
        return void (await this.d.out.post(n.conv, { kind: 'text', text: 'Yes? Tell me what to do, e.g. "status" or "deploy web 1.2.3" — say "help" for everything I understand.' }));
      case 'too-long':
        this.d.metrics?.request('too_long');
        return void (await this.d.out.post(n.conv, { kind: 'text', text: `That message is ${n.length.toLocaleString('en')} characters long; I read at most ${MAX_TEXT.toLocaleString('en')}. I did not read or keep it — send a shorter one.` }));
      case 'message':
        this.d.metrics?.request(n.command);
        return void (await this.h().message(n.msg));
    }
  }

  private async unknownButton(body: unknown): Promise<void> {
    const i = interactionInput(body);
    if (!i?.channel) return void this.d.log.warn({}, 'slack.unknown_interaction');
    await this.d.out.notify({ platform: 'slack', tenantId: i.tenantId, channelId: i.channel, ...(i.thread ? { threadId: i.thread } : {}) },
      `slack:${i.user}`, "That button is not one I know (or it is malformed); nothing was done.");
  }

  /** A public root message for requests that arrive without one (slash commands, modals): the card and progress go in its thread. */
  private async startThread(conv: ConversationRef, user: string, what: string): Promise<ConversationRef> {
    const root = await this.d.out.post({ ...conv, ephemeralTo: undefined }, { kind: 'text', text: `slack:${user} asked Hoist for ${what}; the details follow in this thread.` });
    const threaded: ConversationRef = { platform: 'slack', tenantId: conv.tenantId, channelId: conv.channelId, threadId: root.id };
    await this.d.out.rememberThread(conv.tenantId, conv.channelId, root.id);
    return threaded;
  }

  private async onCommand(body: unknown, receivedAt: number): Promise<ConversationRef | undefined> {
    const c = commandInput(body);
    if (!c) return void this.d.log.warn({}, 'slack.malformed_command');
    if (!(await this.d.claimEvent(c.eventId))) return undefined;
    if (c.responseUrl) this.d.out.holdResponseUrl(c.channel, c.user, c.responseUrl);
    const base: ConversationRef = { platform: 'slack', tenantId: c.tenantId, channelId: c.channel };
    const privately: ConversationRef = { ...base, ephemeralTo: `slack:${c.user}` };
    if (c.raw.length > MAX_TEXT) {
      this.d.metrics?.request('too_long');
      await this.d.out.post(privately, { kind: 'text', text: `That command is ${c.raw.length.toLocaleString('en')} characters long; I read at most ${MAX_TEXT.toLocaleString('en')}. Nothing was read or kept.` });
      return privately;
    }
    const s = slashText(c.raw, this.d.me.botUserId);
    if (s.asksSecret && c.triggerId) this.d.out.holdTrigger(c.eventId, c.triggerId, receivedAt);
    const conv = s.private ? privately : await this.startThread(base, c.user, `"/hoist ${commandOf(s.text)}"`);
    this.d.metrics?.request(commandOf(s.text));
    try {
      await this.h().message({ platform: 'slack', eventId: c.eventId, tenantId: c.tenantId, userId: `slack:${c.user}`, text: s.text, conversation: conv, receivedAt: new Date(receivedAt) });
    } finally {
      this.d.out.dropTrigger(c.eventId);
    }
    return conv;
  }
}
