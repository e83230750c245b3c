/**
 * IntentParser over the Anthropic Messages API. For one message the grammar could not read:
 * tenant settings (on/off, model, BYO key) → budget → a request holding only the redacted,
 * pseudonymized message, up to five earlier messages of the thread, and the tenant's app
 * names and environments → one forced `propose_intent` call → checked (validate.ts).
 * Every request sent is recorded for the tenant exactly as sent. Network trouble, budgets
 * and bad output all end as `unknown` with a sentence for the thread; nothing here throws
 * for them.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import type { Intent } from '../../workers/contract/index.ts';
import type { Logger, RedactedText } from '../core/types.ts';
import type { AppRef, IntentParser, ParseContext } from '../pipeline/parse-intent.ts';
import { DEFAULT_LIMITS, judge, type Budget, type BudgetLimits } from './budget.ts';
import { budgetText, unreachableText } from './messages.ts';
import type { LlmStore, SecretOpener } from './ports.ts';
import { PROMPT_VERSION, staticRequestParts, userContent, type PromptInput } from './prompt.ts';
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
  /** Absent (hoist explain): no settings, no thread context, no record. */
  store?: LlmStore;
  sealer?: SecretOpener;
  budget?: Budget;
  limits?: Partial<BudgetLimits>;
  /** Tenant-scoped HMAC of a user id. */
  pseudonym: (tenantId: string, userId: string) => string;
  logger: Logger;
  now?: () => Date;
  timeoutMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  maxTokens?: number;
  /** How long tenant settings are cached (0: read every time). */
  settingsTtlMs?: number;
  /** Metrics tap: one call per LLM request, with its outcome and tokens. */
  onCall?: (c: { outcome: string; inputTokens: number; outputTokens: number }) => void;
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

  /**
   * Tenant settings (and the opened BYO key) are cached briefly: a change made with
   * `hoist tenant llm` takes effect within settingsTtlMs, and a busy tenant costs no query.
   */
  private tenant(tenantId: string): Promise<TenantView> {
    const ttl = this.d.settingsTtlMs ?? 5_000;
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
    if (row?.sealedKey && this.d.sealer) apiKey = await this.d.sealer.open(tenantId, LLM_KEY_PURPOSE, row.sealedKey);
    const enabled = Boolean(apiKey) && (s.enabled ?? Boolean(row?.sealedKey || this.d.serverKey));
    return {
      enabled, keepContext: row?.contentMode !== 'minimal', apiKey, model: s.model ?? this.d.model,
      limits: { ...DEFAULT_LIMITS, ...this.d.limits, ...s.limits },
    };
  }

  /**
   * Keeps a grammar-read message as thread context, off the reply's path: context is a
   * nicety, so a grammar command neither waits for it nor fails because of it.
   */
  async observe(text: RedactedText, ctx: ParseContext): Promise<void> {
    if (!this.d.store) return;
    this.track((async () => {
      const t = await this.tenant(ctx.tenantId);
      if (t.enabled && t.keepContext) await this.remember(text, ctx);
    })(), this.d.logger.child({ tenant: ctx.tenantId }));
  }

  /** Redacted text with people as pseudonym tokens: what is kept, and (labelled) what is sent. */
  private depersonalize(text: RedactedText, ctx: ParseContext): string {
    return pseudonymizeText(text, ctx.conversation.platform, (u) => userToken(this.d.pseudonym(ctx.tenantId, u)), [ctx.userId]);
  }

  private remember(text: RedactedText, ctx: ParseContext): Promise<void> {
    return this.d.store!.addThreadMessage({
      tenantId: ctx.tenantId, thread: threadKey(ctx.conversation), speaker: this.d.pseudonym(ctx.tenantId, ctx.userId),
      text: this.depersonalize(text, ctx), createdAt: this.now(),
    });
  }

  async parse(text: RedactedText, ctx: ParseContext): Promise<Intent | undefined> {
    const started = performance.now();
    const store = this.d.store;
    const who = { tenant: this.d.pseudonym(ctx.tenantId, '*workspace*'), user: this.d.pseudonym(ctx.tenantId, ctx.userId) };
    const log = this.d.logger.child({ tenant: ctx.tenantId });
    const tenant = this.tenant(ctx.tenantId);
    // Without a server key most tenants have no LLM at all: find out before reading more.
    if (!this.d.serverKey && !(await tenant).enabled) return undefined;
    // Everything the request needs is read at once; the budget is counted alongside and
    // judged once the tenant's limits are known.
    const [t, history, apps, counts] = await Promise.all([
      tenant,
      store ? store.threadHistory(ctx.tenantId, threadKey(ctx.conversation), new Date(this.now().getTime() - THREAD_WINDOW_MS), THREAD_CONTEXT_MESSAGES) : [],
      ctx.apps(),
      this.d.budget?.count(who).catch((err: unknown) => err instanceof Error ? err : new Error(String(err))),
    ]);
    if (!t.enabled || !t.apiKey) return undefined;
    if (!t.keepContext) history.length = 0;
    if (counts instanceof Error) {
      log.warn({ err: counts.message }, 'llm.budget_unavailable');
      await this.rememberQuietly(text, ctx, log);
      return { action: 'unknown', reason: unreachableText({ kind: 'unreachable', detail: 'budget store' }) };
    }
    const verdict = counts ? judge(counts, t.limits) : { ok: true as const };
    if (!verdict.ok) {
      log.info({ scope: verdict.scope, per: verdict.per }, 'llm.budget_exceeded');
      await this.rememberQuietly(text, ctx, log);
      return { action: 'unknown', reason: budgetText(verdict) };
    }

    const body = {
      model: t.model,
      max_tokens: this.d.maxTokens ?? 512,
      ...staticRequestParts(),
      messages: [{ role: 'user' as const, content: userContent(this.promptInput(text, ctx, history, apps)) }],
    };
    const client = this.clientFor(t.apiKey);
    const sentAt = performance.now();
    // The message is kept for the thread in the background; the record of what was sent is
    // written as the request leaves, overlapping the call, and must exist before its answer is used.
    if (store && t.keepContext) this.track(this.remember(text, ctx), log);
    const [call, recordId] = await Promise.all([
      withRetries((timeoutMs) => client.messages.create(body, { timeout: timeoutMs, maxRetries: 0 }), {
        deadlineMs: this.d.timeoutMs ?? 10_000, maxAttempts: this.d.maxAttempts ?? 3, baseDelayMs: this.d.retryBaseMs ?? 250, maxDelayMs: 2_000,
      }).then((r) => ({ ok: true as const, ...r }), (e: unknown) => {
        if (e instanceof LlmCallFailed) return { ok: false as const, failure: e.failure, attempts: e.attempts };
        throw e;
      }),
      store?.recordRequest({ tenantId: ctx.tenantId, model: t.model, promptVersion: PROMPT_VERSION, request: body, response: { outcome: 'sent' }, createdAt: this.now() }),
    ]);
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
    if (this.d.budget) this.track(this.d.budget.charge(who, usage.input + usage.output), log);
    if (store && recordId !== undefined) {
      this.track(store.finishRequest(recordId, { response, inputTokens: usage.input, outputTokens: usage.output, latencyMs: Math.round(apiMs) }), log);
    }
    this.d.onCall?.({ outcome: String(response.outcome), inputTokens: usage.input, outputTokens: usage.output });
    log.info({ outcome: response.outcome, attempts: call.attempts, apiMs: Math.round(apiMs), ownMs: Math.round((performance.now() - started - apiMs) * 10) / 10, tokens: usage }, 'llm.parsed');
    return intent;
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

  private async rememberQuietly(text: RedactedText, ctx: ParseContext, log: Logger): Promise<void> {
    if (!this.d.store || !(await this.tenant(ctx.tenantId)).keepContext) return;
    await this.remember(text, ctx).catch((err: unknown) => log.warn({ err: String(err) }, 'llm.remember_failed'));
  }

  /** Only the redacted message, the thread's redacted messages, app names and environments. */
  private promptInput(text: RedactedText, ctx: ParseContext, history: Array<{ speaker: string; text: string }>, apps: AppRef[]): PromptInput {
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
