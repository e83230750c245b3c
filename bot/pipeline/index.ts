/**
 * The spine (ARCHITECTURE.md): adapter → redact → parse → authorize → confirm | answer →
 * enqueue; decisions (button clicks) → conditional approve → enqueue. Every stage appends
 * an audit event carrying the action id. Errors become one clear sentence in the thread.
 */
import type { Role } from '../../workers/contract/index.ts';
import { MUTATING, WORKER_READS } from '../../workers/contract/index.ts';
import type { Sealer } from '../../db/crypto.ts';
import type { ActionRow, Store } from '../../db/repo.ts';
import { HoistError, isHoistError, userMessageFor } from '../core/errors.ts';
import type { ActionQueue, AuditLog, PrivacyPort } from '../core/ports.ts';
import type { ChatAdapter, Clock, ConversationRef, Decision, InboundMessage, Logger, Platform } from '../core/types.ts';
import { answerApps, answerHistory, answerRole, HELP, PRIVACY_TEXT } from './answer.ts';
import { authorize, authorizeApproval } from './authorize.ts';
import { cardFor, newActionId, PENDING_TTL_MS, resolveAction, type ResolvedAction } from './confirm.ts';
import { asApproved, enqueue } from './enqueue.ts';
import { parseIntent, type IntentParser } from './parse-intent.ts';
import { redactMessage, secretNotice } from './redact.ts';

export interface PipelineDeps {
  store: Store;
  audit: AuditLog;
  queue: ActionQueue;
  sealer: Sealer;
  adapters: Partial<Record<Platform, ChatAdapter>>;
  clock: Clock;
  logger: Logger;
  llm?: IntentParser;
  /** Content mode, usage analytics, privacy answers, export and forget-me (db/privacy/service.ts). */
  privacy?: PrivacyPort;
  /** Role of a user without an explicit grant (bootstrap admins, console users). */
  defaultRole: (tenantId: string, userId: string) => Role | undefined;
  /** Told of every enqueued action (the console waits for their results before exiting). */
  onEnqueued?: (actionId: string) => void;
  /** Stage 3½ rate limits (bot/infra/rate-limit.ts): a refusal sentence, posted in the thread; nothing else runs. */
  rateLimit?: (tenantId: string, userId: string) => Promise<string | undefined>;
  /** The installation's registry allowlist (HOIST_ALLOWED_REGISTRIES), checked at proposal time. */
  allowedRegistries?: readonly string[];
  /** Deploy target names (HOIST_TARGETS) when the bot knows them: an unknown `on <target>` is refused before the card. */
  targets?: readonly string[];
  /** Metrics taps (bot/infra/http-server.ts registry). */
  observe?: { redactionFindings?(kinds: readonly string[]): void };
}

export class Pipeline {
  constructor(private readonly d: PipelineDeps) {}

  private adapter(p: Platform): ChatAdapter {
    const a = this.d.adapters[p];
    if (!a) throw new Error(`no adapter for ${p}`);
    return a;
  }

  private say(conv: ConversationRef, text: string) {
    return this.adapter(conv.platform).post(conv, { kind: 'text', text });
  }

  async roleOf(tenantId: string, userId: string): Promise<Role | undefined> {
    return ((await this.d.store.getRole(tenantId, userId)) as Role | undefined) ?? this.d.defaultRole(tenantId, userId);
  }

  /**
   * A message's audit events, in order. `add` only queues an event; `flush` appends the queued
   * ones together (db/audit.ts chains them in one statement) and waits for the commit. The
   * pipeline flushes before anything the message causes becomes visible or effective (a
   * reply, a card, an action row that can run, a role change, an LLM call), and on every exit.
   */
  private trail() {
    const queued: Parameters<AuditLog['append']>[0][] = [];
    return {
      add: (e: Parameters<AuditLog['append']>[0]) => { queued.push(e); },
      flush: async () => {
        if (!queued.length) return;
        const batch = queued.splice(0);
        // Called synchronously in order, so the events take consecutive places in the chain.
        await Promise.all(batch.map((e) => this.d.audit.append(e)));
      },
    };
  }

  async handleMessage(msg: InboundMessage): Promise<void> {
    const { store, clock } = this.d;
    const log = this.d.logger.child({ tenant: msg.tenantId, event: msg.eventId });
    const startedAt = clock.now().getTime();
    const usage = { command: 'unparsed', outcome: 'ok' };
    const trail = this.trail();
    try {
      const refused = await this.d.rateLimit?.(msg.tenantId, msg.userId);
      if (refused) {
        usage.command = 'rate_limited';
        return void (await this.say(msg.conversation, refused));
      }
      // Independent reads in parallel: the tenant row, its content mode, the user's role.
      const rolePromise = this.roleOf(msg.tenantId, msg.userId);
      rolePromise.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
      const [, mode] = await Promise.all([store.ensureTenant(msg.tenantId, msg.platform), this.d.privacy?.contentMode(msg.tenantId)]);
      const red = redactMessage(msg.text);
      if (red.kinds.length) this.d.observe?.redactionFindings?.(red.kinds);
      // Minimal content mode: no message text is stored anywhere, only what was asked for.
      const minimal = mode === 'minimal';
      trail.add({ tenantId: msg.tenantId, type: 'message.received', actor: msg.userId, data: minimal ? { platform: msg.platform } : { text: red.text, platform: msg.platform } });
      const notice = secretNotice(red.kinds);
      if (notice) {
        await trail.flush();
        await this.say(msg.conversation, notice);
      }
      const { intent, parser } = await parseIntent(red.text, this.d.llm, {
        tenantId: msg.tenantId, userId: msg.userId, conversation: msg.conversation,
        apps: async () => (await store.listApps(msg.tenantId)).map((a) => ({ name: a.name, environment: a.environment })),
      }, () => trail.flush());
      usage.command = intent.action === 'privacy' ? `privacy.${intent.request ?? 'show'}` : intent.action;
      trail.add({ tenantId: msg.tenantId, type: 'intent.parsed', actor: msg.userId, data: { intent: minimal ? { ...intent, reason: undefined } : intent, parser } });
      const role = await rolePromise;
      try {
        authorize(role, intent);
      } catch (e) {
        trail.add({ tenantId: msg.tenantId, type: 'authz.denied', actor: msg.userId, data: { action: intent.action, role: role ?? null } });
        throw e;
      }
      trail.add({ tenantId: msg.tenantId, type: 'authz.allowed', actor: msg.userId, data: { action: intent.action, role } });
      const conv = msg.conversation;
      // Mutating requests propose a pending action (inert until approved through its card):
      // their events go with action.proposed, in one append before the card. Everything else
      // acts or answers now: its events are committed first.
      if (!MUTATING.has(intent.action) || (intent.action === 'set_env' && !intent.value)) await trail.flush();
      switch (intent.action) {
        case 'help': return void (await this.say(conv, HELP));
        case 'unknown': return void (await this.say(conv, `${intent.reason ?? "I didn't understand that."}\nSay "help" for what I understand.`));
        case 'apps': return void (await this.say(conv, await answerApps(store, msg.tenantId)));
        case 'history': return void (await this.say(conv, await answerHistory(store, msg.tenantId, intent.app!, clock.now())));
        case 'privacy':
          if (intent.request === 'show') {
            if (this.d.privacy) {
              const sent = await this.d.llm?.describeSent?.(msg.tenantId, role === 'admin');
              const text = await this.d.privacy.describe(msg.tenantId, msg.userId);
              return void (await this.say(conv, sent ? `${text}\n${sent}` : text));
            }
            const sent = await this.d.llm?.describeSent?.(msg.tenantId, role === 'admin');
            return void (await this.say(conv, sent ? `${PRIVACY_TEXT}\n${sent}` : PRIVACY_TEXT));
          }
          return void (await this.privacyRequest(msg, intent.request === 'export' ? 'export' : 'forget_me'));
        case 'grant': case 'revoke': {
          const text = await answerRole(store, msg.tenantId, msg.userId, intent);
          trail.add({ tenantId: msg.tenantId, type: `role.${intent.action}`, actor: msg.userId, data: { user: intent.user, role: intent.role ?? null } });
          await trail.flush();
          return void (await this.say(conv, text));
        }
        case 'set_env':
          if (!intent.value) {
            await resolveAction(store, msg.tenantId, intent); // unknown app → clear answer before asking for a value
            const chat = this.adapter(conv.platform);
            if (chat.askSecret) return void (await chat.askSecret(conv, { userId: msg.userId, eventId: msg.eventId, key: intent.key!, app: intent.app! }));
            return void (await this.say(conv, `Send the value as: set ${intent.key}=<value> on ${intent.app} — it is sealed at once and never shown.`));
          }
          break;
        default:
          break;
      }
      if (WORKER_READS.has(intent.action)) {
        if (intent.app) await resolveAction(store, msg.tenantId, intent); // unknown app → clear answer now
        const row = await store.createApprovedAction({
          id: newActionId(), tenantId: msg.tenantId, kind: intent.action, app: intent.app ?? null, params: { intent },
          requestedBy: msg.userId, status: 'approved', conversation: conv, expiresAt: clock.now(), decidedBy: msg.userId, decidedAt: clock.now(),
        });
        await this.enqueueApproved(row);
        return;
      }
      if (!MUTATING.has(intent.action)) throw new HoistError('internal', `no handler for ${intent.action}`);
      await this.propose(msg, intent, await resolveAction(store, msg.tenantId, intent, { allowedRegistries: this.d.allowedRegistries, targets: this.d.targets }), red.secrets, trail);
    } catch (e) {
      usage.outcome = isHoistError(e) ? e.code : 'internal';
      log.warn({ err: isHoistError(e) ? e.code : String(e) }, 'message.failed');
      if (!isHoistError(e)) log.error({ err: e instanceof Error ? e.stack : String(e) }, 'message.crashed');
      // The refusal's events (authz.denied …) are committed before the refusal is posted.
      const flushed = await trail.flush().then(() => true, (err: unknown) => { log.error({ err: String(err) }, 'audit.failed'); return false; });
      await this.say(msg.conversation, userMessageFor(flushed ? e : new Error('audit'))).catch((err: unknown) => log.error({ err: String(err) }, 'reply.failed'));
    } finally {
      await trail.flush().catch((err: unknown) => log.error({ err: String(err) }, 'audit.failed'));
      await this.d.privacy?.recordUsage({ tenantId: msg.tenantId, userId: msg.userId, platform: msg.platform, ...usage, latencyMs: clock.now().getTime() - startedAt })
        .catch((err: unknown) => log.warn({ err: String(err) }, 'analytics.failed'));
    }
  }

  /** privacy export (a file: DM'd where the platform can, else written locally) and forget me. */
  private async privacyRequest(msg: InboundMessage, request: 'export' | 'forget_me'): Promise<void> {
    const p = this.d.privacy;
    if (!p) throw new HoistError('invalid_request', 'Privacy requests are not available in this deployment; nothing was exported or erased.');
    const conv = msg.conversation;
    if (request === 'forget_me') return void (await this.say(conv, await p.forgetMe(msg.tenantId, msg.userId)));
    const file = await p.exportTenant(msg.tenantId, msg.userId);
    const chat = this.adapter(conv.platform);
    if (chat.upload) {
      await chat.upload(conv, msg.userId, file.filename, file.content);
      return void (await this.say(conv, `I sent you the export ${file.filename} as a direct message.`));
    }
    const path = await p.saveExport(file);
    await this.say(conv, `Export written to ${path} (JSON: apps, deployments, actions, audit events, settings, env var names — never values — and roles).`);
  }

  private async propose(msg: InboundMessage, intent: Parameters<typeof resolveAction>[2], resolved: ResolvedAction, secrets: Map<string, string>,
    trail: ReturnType<Pipeline['trail']>) {
    const { store, clock, sealer } = this.d;
    const id = newActionId();
    // The pending row (inert until approved through the card) and the message's audit events
    // are written side by side; both are committed before the card is posted.
    trail.add({ tenantId: msg.tenantId, type: 'action.proposed', actionId: id, actor: msg.userId, data: { kind: intent.action, resolved } });
    const audited = trail.flush();
    audited.catch(() => undefined); // awaited below
    const row = await store.createAction({
      id, tenantId: msg.tenantId, kind: intent.action, app: resolved.app, params: { intent, resolved },
      requestedBy: msg.userId, status: 'pending', conversation: msg.conversation, environment: resolved.environment,
      expiresAt: new Date(clock.now().getTime() + PENDING_TTL_MS),
    });
    // Only the secrets this action needs are kept (sealed); the rest are simply dropped.
    if (resolved.valuePlaceholder) {
      const value = secrets.get(resolved.valuePlaceholder);
      if (value === undefined) throw new HoistError('invalid_request', 'That value was not sealed; send it again as set KEY=value on app.');
      await store.addSealedSecret(msg.tenantId, id, resolved.valuePlaceholder, await sealer.seal(msg.tenantId, `action:${id}:${resolved.valuePlaceholder}`, value));
    }
    await audited;
    await this.adapter(msg.platform).post(msg.conversation, { kind: 'card', card: cardFor(row, resolved) });
  }

  /**
   * Fast path only: the approval already wrote the outbox row, so a down Redis (the producer
   * fails at once, enableOfflineQueue=false) just leaves the job to the relay.
   */
  private async enqueueApproved(row: Pick<ActionRow, 'id' | 'tenantId' | 'status' | 'kind'>): Promise<void> {
    const { id, tenantId } = row;
    this.d.onEnqueued?.(id);
    try {
      await enqueue(this.d.queue, asApproved(row));
    } catch (e) {
      this.d.logger.warn({ action: id, err: e instanceof Error ? e.message : String(e) }, 'enqueue.deferred_to_outbox');
      return;
    }
    // Independent: the stamp (so the relay leaves the row alone) and the audit step.
    await Promise.all([this.d.store.markEnqueued(id, this.d.clock.now()), this.d.audit.append({ tenantId, type: 'action.enqueued', actionId: id })]);
  }

  async handleDecision(d: Decision): Promise<void> {
    const { store, audit, clock } = this.d;
    const conv = d.conversation;
    const refuse = (text: string) => this.adapter(d.platform).notify(conv, d.userId, text);
    try {
      const action = await store.getAction(d.actionId);
      // The tenant comes from the signed platform payload; an id from another tenant is "not found".
      if (!action || action.tenantId !== d.tenantId) return void (await refuse(`There is no action ${d.actionId} here.`));
      const resolved = (action.params as { resolved: ResolvedAction }).resolved;
      const card = cardFor(action, resolved);
      const role = await this.roleOf(d.tenantId, d.userId);
      if (d.decision === 'cancel') {
        if (d.userId !== action.requestedBy && !(role === 'approver' || role === 'admin')) {
          return void (await refuse('Only the requester or an approver can cancel this.'));
        }
        const won = await store.transition(action.id, ['pending'], 'cancelled', { decidedBy: d.userId, decidedAt: clock.now(), finishedAt: clock.now() });
        if (!won) return void (await refuse(await this.whyNot(action.id)));
        await store.purgeSealedSecrets(action.id);
        await audit.append({ tenantId: d.tenantId, type: 'action.cancelled', actionId: action.id, actor: d.userId });
        await this.showOutcome(conv, d, card, `Cancelled by ${d.userId}.`);
        return;
      }
      try {
        authorizeApproval({ role, userId: d.userId, requestedBy: action.requestedBy, production: resolved.environment === 'production' });
      } catch (e) {
        await audit.append({ tenantId: d.tenantId, type: 'approval.denied', actionId: action.id, actor: d.userId, data: { reason: isHoistError(e) ? e.code : 'error' } });
        return void (await refuse(userMessageFor(e)));
      }
      const won = await store.approveAction(action.id, d.tenantId, d.userId, clock.now());
      if (!won) {
        await this.expireIfDue(action.id);
        return void (await refuse(await this.whyNot(action.id)));
      }
      await audit.append({ tenantId: d.tenantId, type: 'action.approved', actionId: action.id, actor: d.userId });
      // The card's edit (a chat API round trip) and the enqueue go side by side: the rollout does
      // not wait for the chat platform. (The result comes through the results queue and the
      // reporter, well after the edit.) A failed edit is logged; the approval stands.
      await Promise.all([
        this.showOutcome(conv, d, card, `Approved by ${d.userId}; running now.`)
          .catch((err: unknown) => this.d.logger.warn({ err: String(err), action: action.id }, 'card.update_failed')),
        this.enqueueApproved(won),
      ]);
    } catch (e) {
      this.d.logger.error({ err: isHoistError(e) ? e.code : String(e), action: d.actionId }, 'decision.failed');
      await refuse(userMessageFor(e)).catch((err: unknown) => this.d.logger.error({ err: String(err) }, 'reply.failed'));
    }
  }

  private async showOutcome(conv: ConversationRef, d: Decision, card: ReturnType<typeof cardFor>, outcome: string) {
    const a = this.adapter(d.platform);
    if (d.cardRef) await a.update(conv, d.cardRef, { kind: 'outcome', card, outcome });
    else await a.post(conv, { kind: 'text', text: `${card.title} (${card.actionId}): ${outcome}` });
  }

  /** A click after expiry but before the sweeper ran: expire it now, so the refusal is final. */
  private async expireIfDue(id: string): Promise<void> {
    const now = this.d.clock.now();
    const a = await this.d.store.getAction(id);
    if (!a || a.status !== 'pending' || a.expiresAt > now) return;
    if (await this.d.store.transition(id, ['pending'], 'expired', { finishedAt: now })) {
      await this.d.store.purgeSealedSecrets(id);
      await this.d.audit.append({ tenantId: a.tenantId, type: 'action.expired', actionId: id });
    }
  }

  private async whyNot(id: string): Promise<string> {
    const a = await this.d.store.getAction(id);
    const now = this.d.clock.now();
    if (!a) return `There is no action ${id} here.`;
    if (a.status === 'pending' && a.expiresAt <= now) return `Action ${id} expired at ${a.expiresAt.toISOString()}; ask again to get a new card.`;
    if (a.status === 'expired') return `Action ${id} expired at ${a.expiresAt.toISOString()}; nothing ran — ask again to get a new card.`;
    if (a.status === 'cancelled') return `Action ${id} was cancelled${a.decidedBy ? ` by ${a.decidedBy}` : ''}; nothing ran.`;
    return `Action ${id} was already approved${a.decidedBy ? ` by ${a.decidedBy}` : ''} (now ${a.status}); it runs once.`;
  }

  /** Sweep: pending actions past expiry become expired, their secrets destroyed, their thread told. */
  async expireDue(): Promise<number> {
    const expired = await this.d.store.expireDue(this.d.clock.now());
    for (const a of expired) {
      await this.d.store.purgeSealedSecrets(a.id);
      await this.d.audit.append({ tenantId: a.tenantId, type: 'action.expired', actionId: a.id });
      const conv = a.conversation as ConversationRef;
      await this.say(conv, `Action ${a.id} (${a.kind} ${a.app ?? ''}) expired without approval; nothing ran.`).catch((err: unknown) =>
        this.d.logger.warn({ err: String(err) }, 'reply.failed'));
    }
    return expired.length;
  }
}
