/**
 * IntentParser over the Anthropic Messages API. For one message the grammar could not read:
 * tenant settings (on/off, model, BYO key) → budget → a request holding only the redacted,
 * pseudonymized message, up to five earlier messages of the thread, and the tenant's app
 * names and environments → one forced `propose_intent` call → checked (validate.ts).
 * Every request sent is recorded for the tenant exactly as sent. Network trouble, budgets
 * and bad output all end as `unknown` with a sentence for the thread; nothing here throws
 * for them.
 *
 * The path of one request (what Hoist adds to the model's own latency):
 *  - before sending, ONE wait: the tenant's settings and sealed key (LlmStore: PostgreSQL
 *    behind the process's tenant cache, invalidated by NOTIFY — normally no query), its apps
 *    (ParseContext.apps: the same cache) and one Redis MULTI (both budgets counted and read,
 *    the thread's context read), all in parallel, and alongside the caller's `ready` (the
 *    pipeline's audit commit), which is awaited before sending;
 *  - the record of what is sent is written alongside the request: its INSERT is issued
 *    before the request, in the same tick, and the reply does not wait for its commit (see
 *    `send` for why that keeps the guarantee);
 *  - after the answer: validation only; the record's outcome and tokens, the token charge and
 *    the thread context are written in the background (tracked: `settle` waits for them).
 *
 * Staleness of what is cached. A change made in this process (LlmRepo, Store) drops the
 * tenant's entries at once. A change made elsewhere — `hoist tenant llm` (always another
 * process), the workers creating an app, another bot instance, psql — drops them when
 * PostgreSQL's NOTIFY arrives (milliseconds on one host); while the listener is down the
 * cache is bypassed, and its TTL bounds the rest (db/tenant-cache.ts). A BYO key edited by
 * hand in llm_keys (no trigger) waits for that TTL. What a stale value can do:
 *  - settings: for that window, one more message may go to the model after "off" (recorded
 *    and listed by `privacy` like any other), or the old model or key may be used;
 *  - apps and environments: they only shape the prompt and validate.ts's case and typo
 *    check, i.e. at worst a spurious or a missed "Did you mean …?" question. Nothing acts on
 *    a name from here: confirm.ts resolves it again (Store.getApp, the same NOTIFY-invalidated
 *    cache) before any card, approval re-reads the action row, and the workers read the app
 *    from PostgreSQL uncached when they run it. An app removed meanwhile gets "No app named X".
 * Thread context (Redis) is shared by every bot process; it is never stale, only short-lived.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import type { Intent } from '../../workers/contract/index.ts';
import type { Logger, RedactedText } from '../core/types.ts';
import type { AppRef, IntentParser, ParseContext } from '../pipeline/parse-intent.ts';
import { DEFAULT_LIMITS, judge, type BudgetLimits, type LlmState, type ThreadEntry } from './budget.ts';
import { budgetText, unreachableText } from './messages.ts';
import type { LlmStore, SecretOpener } from './ports.ts';
import { PROMPT_VERSION, staticRequestParts, userContent, type PromptInput } from './prompt.ts';
import { WORKSPACE } from '../../workers/contract/pseudonym.ts';
import { LabelBook, labelTokens, pseudonymizeText, userToken } from './pseudonymize.ts';
import { LlmCallFailed, withRetries } from './retry.ts';
import { checkToolCalls } from './validate.ts';

export type MessagesClient = Pick<Anthropic, 'messages'>;

export const LLM_KEY_PURPOSE = 'llm-key';
export const THREAD_CONTEXT_MESSAGES = 5;
/** Older messages are not context any more, just history: they are not sent. */
const THREAD_WINDOW_MS = 30 * 60_000;
const PLACEHOLDER = /⟦secret:\d+:[a-z0-9_]+⟧/g;

export const TenantLlmSettings = z.object({
  enabled: z.boolean().optional(),
  model: z.string().min(1).max(100).optional(),
  limits: z.object({
    tenantRequestsPerMinute: z.number().int().min(0),
    userRequestsPerMinute: z.number().int().min(0),
    tenantTokensPerDay: z.number().int().min(0),
    userTokensPerDay: z.number().int().min(0),
  }).partial().optional(),
});
export type TenantLlmSettings = z.infer<typeof TenantLlmSettings>;

export interface AnthropicParserDeps {
  /** Builds (and the parser caches) a client per API key; main.ts owns `new Anthropic`. */
  client: (apiKey: string) => MessagesClient;
  serverKey?: string;
  model: string;
  /** Absent (hoist explain): no settings, no record. */
  store?: LlmStore;
  sealer?: SecretOpener;
  /** Budgets and thread context (Redis); absent: no budget, no thread context. */
  state?: LlmState;
  limits?: Partial<BudgetLimits>;
  /** Tenant-scoped HMAC of a user id. */
  pseudonym: (tenantId: string, userId: string) => string;
  logger: Logger;
  now?: () => Date;
  timeoutMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  maxTokens?: number;
  /**
   * How long the parser itself may reuse a tenant's settings without asking the store. 0 (the
   * default): ask every time — the store reads through the process's tenant cache, which
   * PostgreSQL invalidates on every committed change (db/tenant-cache.ts), so asking costs no
   * query and "LLM off" applies to the next message. Above 0 a change can take that long.
   */
  settingsTtlMs?: number;
  /**
   * Metrics tap: one call per LLM request, with its outcome and tokens, and Hoist's own time:
   * `readMs` the wait for settings, apps, budget and context before sending, `ownMs` the
   * whole parse minus the time inside the SDK call (as the bench measures it; it includes any
   * wait for the caller's `ready`, i.e. in the pipeline the audit commit before the call).
   */
  onCall?: (c: { outcome: string; inputTokens: number; outputTokens: number; readMs: number; ownMs: number }) => void;
}

interface TenantView {
  enabled: boolean;
  /** False in the tenant's minimal content mode: no message text kept, so no thread context. */
  keepContext: boolean;
  apiKey?: string;
  model: string;
  limits: BudgetLimits;
}

const threadKey = (c: ParseContext['conversation']) => `${c.platform}:${c.channelId}:${c.threadId ?? ''}`;
/** How many times the record of a sent request is tried before giving up (with a logged error). */
const RECORD_ATTEMPTS = 4;

export class AnthropicIntentParser implements IntentParser {
  private readonly clients = new Map<string, MessagesClient>();
  private readonly now: () => Date;

  constructor(private readonly d: AnthropicParserDeps) {
    this.now = d.now ?? (() => new Date());
  }

  private clientFor(key: string): MessagesClient {
    let c = this.clients.get(key);
    if (!c) {
      c = this.d.client(key);
      this.clients.set(key, c);
    }
    return c;
  }

  private readonly tenants = new Map<string, { at: number; view: Promise<TenantView> }>();
  /** Opened BYO keys by their sealed blob: the store hands out the same Buffer while its cache holds the row, so a key is opened once per change. */
  private readonly openedKeys = new WeakMap<Buffer, Promise<string>>();

  /**
   * A tenant's settings and opened BYO key. By default read from the store every time: its
   * tenant cache makes that free and keeps it fresh (see settingsTtlMs).
   */
  private tenant(tenantId: string): Promise<TenantView> {
    const ttl = this.d.settingsTtlMs ?? 0;
    const now = Date.now();
    const hit = this.tenants.get(tenantId);
    if (hit && now - hit.at < ttl) return hit.view;
    const view = this.loadTenant(tenantId);
    if (ttl > 0) {
      this.tenants.set(tenantId, { at: now, view });
      view.catch(() => this.tenants.delete(tenantId)); // a failed read is not cached; the caller sees the error
    }
    return view;
  }

  private async loadTenant(tenantId: string): Promise<TenantView> {
    const row = await this.d.store?.tenantLlm(tenantId);
    const parsed = TenantLlmSettings.safeParse(row?.settings ?? {});
    if (!parsed.success) this.d.logger.warn({ tenant: tenantId }, 'llm.settings_invalid');
    const s = parsed.success ? parsed.data : {};
    let apiKey = this.d.serverKey;
    if (row?.sealedKey && this.d.sealer) apiKey = await this.openKey(tenantId, row.sealedKey);
    const enabled = Boolean(apiKey) && (s.enabled ?? Boolean(row?.sealedKey || this.d.serverKey));
    return {
      enabled, keepContext: row?.contentMode !== 'minimal', apiKey, model: s.model ?? this.d.model,
      limits: { ...DEFAULT_LIMITS, ...this.d.limits, ...s.limits },
    };
  }

  private openKey(tenantId: string, blob: Buffer): Promise<string> {
    let k = this.openedKeys.get(blob);
    if (!k) {
      k = this.d.sealer!.open(tenantId, LLM_KEY_PURPOSE, blob);
      this.openedKeys.set(blob, k);
      k.catch(() => this.openedKeys.delete(blob));
    }
    return k;
  }

  /**
   * Keeps a grammar-read message as thread context, off the reply's path: context is a
   * nicety, so a grammar command neither waits for it nor fails because of it.
   */
  async observe(text: RedactedText, ctx: ParseContext): Promise<void> {
    if (!this.d.state) return;
    this.track((async () => {
      const t = await this.tenant(ctx.tenantId);
      if (t.enabled && t.keepContext) await this.remember(text, ctx);
    })(), this.d.logger.child({ tenant: ctx.tenantId }));
  }

  /** Redacted text with people as pseudonym tokens: what is kept, and (labelled) what is sent. */
  private depersonalize(text: RedactedText, ctx: ParseContext): string {
    return pseudonymizeText(text, ctx.conversation.platform, (u) => userToken(this.d.pseudonym(ctx.tenantId, u)), [ctx.userId]);
  }

  /** The thread's Redis key part: a tenant-scoped pseudonym, so no channel or thread id is stored. */
  private threadRef(ctx: ParseContext): string {
    return `${this.d.pseudonym(ctx.tenantId, WORKSPACE)}:${this.d.pseudonym(ctx.tenantId, `*thread*${threadKey(ctx.conversation)}`)}`;
  }

  private remember(text: RedactedText, ctx: ParseContext): Promise<void> {
    const entry: ThreadEntry = { speaker: this.d.pseudonym(ctx.tenantId, ctx.userId), text: this.depersonalize(text, ctx), at: this.now().getTime() };
    return this.d.state!.remember(this.threadRef(ctx), entry, { keep: THREAD_CONTEXT_MESSAGES, ttlMs: THREAD_WINDOW_MS });
  }

  async parse(text: RedactedText, ctx: ParseContext, ready?: Promise<void>): Promise<Intent | undefined> {
    const started = performance.now();
    const store = this.d.store;
    const state = this.d.state;
    const who = { tenant: this.d.pseudonym(ctx.tenantId, WORKSPACE), user: this.d.pseudonym(ctx.tenantId, ctx.userId) };
    const log = this.d.logger.child({ tenant: ctx.tenantId });
    const tenant = this.tenant(ctx.tenantId);
    // Without a server key most tenants have no LLM at all: find out before reading more.
    if (!this.d.serverKey && !(await tenant).enabled) return undefined;
    // Everything the request needs, at once: settings and apps (cached), and one Redis round
    // trip that counts the budget and reads the thread; judged once the limits are known.
    const thread = { key: this.threadRef(ctx), since: this.now().getTime() - THREAD_WINDOW_MS, limit: THREAD_CONTEXT_MESSAGES };
    const [t, apps, hot] = await Promise.all([
      tenant,
      ctx.apps(),
      state?.begin(who, thread).catch((err: unknown) => err instanceof Error ? err : new Error(String(err))),
    ]);
    const readMs = performance.now() - started;
    if (!t.enabled || !t.apiKey) return undefined;
    if (hot instanceof Error) {
      log.warn({ err: hot.message }, 'llm.budget_unavailable');
      return { action: 'unknown', reason: unreachableText({ kind: 'unreachable', detail: 'budget store' }) };
    }
    const verdict = hot ? judge(hot.counts, t.limits) : { ok: true as const };
    if (!verdict.ok) {
      log.info({ scope: verdict.scope, per: verdict.per }, 'llm.budget_exceeded');
      if (t.keepContext && state) this.track(this.remember(text, ctx), log);
      return { action: 'unknown', reason: budgetText(verdict) };
    }
    // In the minimal content mode nothing is kept; anything kept before the switch is not sent.
    const history = t.keepContext ? hot?.history ?? [] : [];
    // The caller's precondition for sending (the pipeline's audit commit), run alongside the reads.
    if (ready) await ready;

    const body = {
      model: t.model,
      max_tokens: this.d.maxTokens ?? 512,
      ...staticRequestParts(),
      messages: [{ role: 'user' as const, content: userContent(this.promptInput(text, ctx, history, apps)) }],
    };
    const client = this.clientFor(t.apiKey);
    // The record of what is sent: its INSERT is issued here, before the request itself, and
    // the reply does not wait for its commit. Waiting would add nothing to the guarantee:
    // once the request is on the wire, the record is owed whether or not the answer is used,
    // and it is written the same way either way — durably (tracked, retried, an error logged
    // if it never lands; `settle` at shutdown waits for it). Writing it BEFORE sending would
    // close the last gap (the process dying between send and commit) at the price of a
    // synchronous commit on every request; a PostgreSQL outage already stops LLM requests
    // earlier (the pipeline commits the message's audit events before any LLM call).
    const recorded = store ? this.recordSent(ctx.tenantId, t.model, body, log) : undefined;
    const sentAt = performance.now();
    if (state && t.keepContext) this.track(this.remember(text, ctx), log);
    const call = await withRetries((timeoutMs) => client.messages.create(body, { timeout: timeoutMs, maxRetries: 0 }), {
      deadlineMs: this.d.timeoutMs ?? 10_000, maxAttempts: this.d.maxAttempts ?? 3, baseDelayMs: this.d.retryBaseMs ?? 250, maxDelayMs: 2_000,
    }).then((r) => ({ ok: true as const, ...r }), (e: unknown) => {
      if (e instanceof LlmCallFailed) return { ok: false as const, failure: e.failure, attempts: e.attempts };
      throw e;
    });
    const apiMs = performance.now() - sentAt;

    let intent: Intent;
    let response: Record<string, unknown>;
    let usage = { input: 0, output: 0 };
    if (call.ok) {
      const m = call.value;
      const u = m.usage;
      usage = { input: (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0), output: u?.output_tokens ?? 0 };
      const checked = checkToolCalls(Array.isArray(m.content) ? m.content : [], {
        apps, environments: environmentsOf(apps), placeholders: new Set(text.match(PLACEHOLDER) ?? []),
      });
      intent = checked.intent;
      response = { outcome: checked.outcome, stop_reason: m.stop_reason ?? null, attempts: call.attempts, intent };
    } else {
      intent = { action: 'unknown', reason: unreachableText(call.failure) };
      response = { outcome: 'failed', failure: call.failure.kind, ...('status' in call.failure ? { status: call.failure.status } : {}), attempts: call.attempts };
    }
    // Bookkeeping after the fact must not hold up the reply: tracked, logged on failure.
    if (state) this.track(state.charge(who, usage.input + usage.output), log);
    if (store && recorded) {
      const finish = { response, inputTokens: usage.input, outputTokens: usage.output, latencyMs: Math.round(apiMs) };
      this.track(recorded.then((id) => (id === undefined ? undefined : store.finishRequest(id, finish))), log);
    }
    const ownMs = Math.round((performance.now() - started - apiMs) * 100) / 100;
    this.d.onCall?.({ outcome: String(response.outcome), inputTokens: usage.input, outputTokens: usage.output, readMs: Math.round(readMs * 100) / 100, ownMs });
    log.info({ outcome: response.outcome, attempts: call.attempts, apiMs: Math.round(apiMs), ownMs, tokens: usage }, 'llm.parsed');
    return intent;
  }

  /**
   * Writes the record of a request being sent; resolves to its id, or undefined when every
   * attempt failed (logged as an error: a request left without its record). Never rejects.
   */
  private recordSent(tenantId: string, model: string, request: unknown, log: Logger): Promise<number | undefined> {
    const row = { tenantId, model, promptVersion: PROMPT_VERSION, request, response: { outcome: 'sent' }, createdAt: this.now() };
    const attempt = async (n: number): Promise<number | undefined> => {
      try {
        return await this.d.store!.recordRequest(row);
      } catch (err) {
        if (n >= RECORD_ATTEMPTS) {
          log.error({ err: String(err), attempts: n }, 'llm.record_failed');
          return undefined;
        }
        await new Promise((r) => setTimeout(r, 100 * 4 ** (n - 1)));
        return attempt(n + 1);
      }
    };
    const p = attempt(1);
    this.track(p.then(() => undefined), log);
    return p;
  }

  private readonly pending = new Set<Promise<void>>();

  private track(p: Promise<void>, log: Logger): void {
    const t = p.catch((err: unknown) => log.warn({ err: String(err) }, 'llm.background_failed')).finally(() => this.pending.delete(t));
    this.pending.add(t);
  }

  /** Waits for background bookkeeping (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Only the redacted message, the thread's redacted messages, app names and environments. */
  private promptInput(text: RedactedText, ctx: ParseContext, history: ThreadEntry[], apps: AppRef[]): PromptInput {
    const book = new LabelBook();
    const requester = this.d.pseudonym(ctx.tenantId, ctx.userId);
    book.label(requester); // the requester is always "user A"
    return {
      apps: apps.map((a) => ({ name: a.name, environment: a.environment })),
      environments: environmentsOf(apps),
      // Stored thread text is already depersonalized; only its tokens become labels.
      thread: history.map((h) => ({ from: book.label(h.speaker), text: labelTokens(h.text, book) })),
      message: { from: book.label(requester), text: labelTokens(this.depersonalize(text, ctx), book) },
    };
  }

  async describeSent(tenantId: string, admin: boolean): Promise<string | undefined> {
    if (!this.d.store) return undefined;
    const since = new Date(this.now().getTime() - 30 * 86_400_000);
    const { count, rows } = await this.d.store.recentRequests(tenantId, since, admin ? 5 : 0);
    const t = await this.tenant(tenantId);
    const head = `Language model: ${t.enabled ? `on (${t.model})` : 'off (the offline grammar only)'}; ${count} request${count === 1 ? '' : 's'} sent in the last 30 days, each holding only redacted text, neutral labels for people, and app names.`;
    if (!admin) return `${head} Admins see exactly what was sent with: privacy`;
    if (rows.length === 0) return head;
    return [head, 'Most recent (what was sent, truncated):', ...rows.map((r) => `  ${r.createdAt.toISOString().slice(0, 19)}Z  ${r.model}  ${summarizeSent(r.request)}`)].join('\n');
  }
}

export function environmentsOf(apps: AppRef[]): string[] {
  return [...new Set(['default', ...apps.map((a) => a.environment)])].sort();
}

function summarizeSent(request: unknown): string {
  const msgs = (request as { messages?: Array<{ content?: unknown }> }).messages ?? [];
  const content = msgs[0]?.content;
  const s = typeof content === 'string' ? content : JSON.stringify(content ?? '');
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}
