import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../bot/infra/logger.ts';
import { createLlmParser } from '../../bot/llm/index.ts';
import { staticRequestParts, SYSTEM_PROMPT, toolInputSchema } from '../../bot/llm/prompt.ts';
import { createPseudonym, LabelBook, labelTokens, pseudonymizeText, userToken } from '../../bot/llm/pseudonymize.ts';
import { editDistance, resolveName } from '../../bot/llm/resolve.ts';
import { LlmCallFailed, retryAfterMs, withRetries } from '../../bot/llm/retry.ts';
import { checkInput, checkToolCalls, cleanQuestion, type ValidationContext } from '../../bot/llm/validate.ts';
import { parseIntent, type ParseContext } from '../../bot/pipeline/parse-intent.ts';
import { redactMessage } from '../../bot/pipeline/redact.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api.ts';

const ctx: ValidationContext = {
  apps: [{ name: 'web', environment: 'staging' }, { name: 'api', environment: 'production' }, { name: 'worker', environment: 'staging' }],
  environments: ['default', 'production', 'staging'],
  placeholders: new Set(['⟦secret:1:postgres_url⟧']),
};

describe('tool schema and prompt', () => {
  it('is generated from IntentSchema without `value`, with a placeholder-only field instead', () => {
    const s = toolInputSchema() as { properties: Record<string, { pattern?: string }>; additionalProperties?: boolean };
    expect(s.properties.value).toBeUndefined();
    expect(s.properties.value_placeholder?.pattern).toContain('secret');
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['action', 'app', 'image', 'environment', 'replicas', 'reason']));
    expect(s.additionalProperties).toBe(false);
  });
  it('forces the one tool and marks the static system prompt cacheable', () => {
    const p = staticRequestParts();
    expect(p.tool_choice).toEqual({ type: 'tool', name: 'propose_intent' });
    expect(p.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
    expect(SYSTEM_PROMPT).toMatch(/never instructions/);
  });
});

describe('checking the model output', () => {
  it('accepts one valid call and resolves app names case-insensitively', () => {
    const r = checkToolCalls([{ type: 'tool_use', name: 'propose_intent', input: { action: 'deploy', app: 'WEB', image: ':2', environment: 'Staging' } }], ctx);
    expect(r).toEqual({ outcome: 'ok', intent: { action: 'deploy', app: 'web', image: ':2', environment: 'staging' } });
  });
  it('turns no call, two calls, an unknown tool, or text into unknown', () => {
    expect(checkToolCalls([{ type: 'text' }], ctx).outcome).toBe('no_tool_call');
    const one = { type: 'tool_use', name: 'propose_intent', input: { action: 'restart', app: 'web' } };
    expect(checkToolCalls([one, one], ctx)).toMatchObject({ outcome: 'several_tool_calls', intent: { action: 'unknown' } });
    expect(checkToolCalls([{ ...one, name: 'run_shell' }], ctx).outcome).toBe('unknown_tool');
  });
  it('rejects out-of-schema input: extra fields (a second action, a tenant), wrong types, a raw value', () => {
    for (const input of [
      { action: 'restart', app: 'web', actions: [{ action: 'stop', app: 'api' }] },
      { action: 'restart', app: 'web', tenant: 'slack:T999' },
      { action: 'scale', app: 'web', replicas: 'lots' },
      { action: 'launch_missiles' },
      { action: 'set_env', app: 'web', key: 'DB', value: 'postgres://u:p@h/db' },
      'deploy web', null, [1, 2],
    ]) {
      const r = checkInput(input, ctx);
      expect(r.intent.action, JSON.stringify(input)).toBe('unknown');
      expect(r.outcome).toBe('out_of_schema');
    }
  });
  it('keeps a placeholder only when it is in this message', () => {
    expect(checkInput({ action: 'set_env', app: 'web', key: 'DATABASE_URL', value_placeholder: '⟦secret:1:postgres_url⟧' }, ctx).intent)
      .toEqual({ action: 'set_env', app: 'web', key: 'DATABASE_URL', value: '⟦secret:1:postgres_url⟧' });
    expect(checkInput({ action: 'set_env', app: 'web', key: 'DATABASE_URL', value_placeholder: '⟦secret:7:github_token⟧' }, ctx).intent)
      .toEqual({ action: 'set_env', app: 'web', key: 'DATABASE_URL' });
  });
  it('asks for missing fields, "did you mean" for typos, and the exact form for roles and data export', () => {
    expect(checkInput({ action: 'restart' }, ctx).intent.reason).toMatch(/Which app\? Your apps: web, api, worker/);
    expect(checkInput({ action: 'restart', app: 'wbe' }, ctx)).toMatchObject({ outcome: 'did_you_mean', intent: { reason: expect.stringMatching(/Did you mean web\?/) } });
    expect(checkInput({ action: 'deploy', app: 'web', image: ':2', environment: 'stagin' }, ctx).intent.reason).toMatch(/Did you mean the staging environment/);
    expect(checkInput({ action: 'restart', app: 'billing' }, ctx).intent).toEqual({ action: 'restart', app: 'billing' }); // pipeline answers "No app named"
    expect(checkInput({ action: 'grant', user: 'user B', role: 'admin' }, ctx)).toMatchObject({ outcome: 'exact_form_required' });
    expect(checkInput({ action: 'privacy', request: 'forget_me' }, ctx).intent.reason).toMatch(/privacy forget me/);
  });
  it('drops fields that do not belong to the action', () => {
    expect(checkInput({ action: 'restart', app: 'web', replicas: 9, image: 'evil:1' }, ctx).intent).toEqual({ action: 'restart', app: 'web' });
  });
  it('shows a clarifying question as one plain line without pings', () => {
    expect(cleanQuestion('Which one?\n<!channel> @here <@U123> ok')).toBe('Which one? ok');
    expect(cleanQuestion('')).toMatch(/rephrase/);
  });
});

describe('names', () => {
  it('measures edit distance with transpositions', () => {
    expect(editDistance('web', 'wbe')).toBe(1);
    expect(editDistance('api', 'app')).toBe(1);
    expect(editDistance('worker', 'web')).toBeGreaterThan(1);
    expect(resolveName('Api', ['api'])).toEqual({ kind: 'exact', name: 'api' });
    expect(resolveName('apo', ['api', 'app'])).toEqual({ kind: 'suggest', names: ['api', 'app'] });
  });
});

describe('pseudonyms', () => {
  const pseudo = createPseudonym(Buffer.alloc(32, 7));
  it('replaces mentions, emails, channels and bare ids with tokens, then per-request labels', () => {
    const token = (u: string) => userToken(pseudo('slack:T1', u));
    const kept = pseudonymizeText('ask <@U0BOB22|bob> and <@U0ALICE1> in <#C0123|ops>, mail bob@example.com; U0ALICE1 said so @hoist', 'slack', token, ['slack:U0ALICE1']);
    expect(kept).not.toMatch(/U0BOB22|U0ALICE1|bob|example/);
    const book = new LabelBook();
    book.label(pseudo('slack:T1', 'slack:U0ALICE1'));
    expect(labelTokens(kept, book)).toBe('ask user B and user A in a channel, mail ⟦email⟧; user A said so @hoist');
  });
  it('is stable per tenant and differs across tenants', () => {
    expect(pseudo('t1', 'slack:U1')).toBe(pseudo('t1', 'slack:U1'));
    expect(pseudo('t1', 'slack:U1')).not.toBe(pseudo('t2', 'slack:U1'));
    expect(pseudo('t1', 'slack:U1')).not.toContain('U1');
  });
});

describe('retries against the fake Messages API', () => {
  let api: FakeAnthropic;
  let client: Anthropic;
  const opts = { deadlineMs: 2_000, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
  const call = (timeout: number) => client.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, { timeout, maxRetries: 0 });
  beforeAll(async () => {
    api = await startFakeAnthropic({ apiKey: 'k-123' });
    client = new Anthropic({ apiKey: 'k-123', baseURL: api.url, maxRetries: 0 });
  });
  afterAll(async () => { await api.close(); });

  it('reads retry-after-ms and retry-after', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
  it('retries 529 and 429, honouring retry-after-ms, then succeeds', async () => {
    api.reset();
    api.script({ kind: 'status', status: 529, retryAfterMs: 120 }, { kind: 'status', status: 429, retryAfterMs: 10 }, { kind: 'tool', input: { action: 'help' } });
    const t0 = Date.now();
    const r = await withRetries(call, opts);
    expect(r.attempts).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(125);
    expect(api.requests.map((q) => q.key)).toEqual(['k-123', 'k-123', 'k-123']);
  });
  it('gives up after the bounded attempts, and at once on a 400 or when retry-after exceeds the deadline', async () => {
    api.reset();
    api.script({ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 529 });
    await expect(withRetries(call, opts)).rejects.toMatchObject({ failure: { kind: 'overloaded', status: 529 }, attempts: 3 });
    api.script({ kind: 'status', status: 400 });
    await expect(withRetries(call, opts)).rejects.toMatchObject({ failure: { kind: 'rejected', status: 400 }, attempts: 1 });
    api.script({ kind: 'status', status: 529, retryAfterMs: 60_000 });
    await expect(withRetries(call, opts)).rejects.toMatchObject({ failure: { kind: 'overloaded' }, attempts: 1 });
  });
  it('times out a hanging API within the deadline, and reports a refused connection as unreachable', async () => {
    api.reset();
    api.script({ kind: 'hang' });
    const t0 = Date.now();
    await expect(withRetries(call, { ...opts, deadlineMs: 300 })).rejects.toBeInstanceOf(LlmCallFailed);
    expect(Date.now() - t0).toBeLessThan(1500);
    const dead = new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:1', maxRetries: 0 });
    await expect(withRetries((t) => dead.messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, { timeout: t, maxRetries: 0 }), opts))
      .rejects.toMatchObject({ failure: { kind: 'unreachable' }, attempts: 3 });
  });
});

describe('parseIntent and the pipeline\'s precondition (beforeLlm)', () => {
  let api: FakeAnthropic;
  beforeAll(async () => { api = await startFakeAnthropic({ apiKey: 'k-456' }); });
  afterAll(async () => { await api.close(); });

  it('reads alongside it, sends nothing before it resolves, and nothing at all when it fails', async () => {
    const parser = createLlmParser({
      config: { ANTHROPIC_API_KEY: 'k-456', HOIST_LLM_MODEL: 'm' }, client: (k) => new Anthropic({ apiKey: k, baseURL: api.url, maxRetries: 0 }),
      masterKey: Buffer.alloc(32, 7), logger: createLogger({ level: 'silent' }),
    });
    const text = redactMessage('could you bounce web').text;
    let apps = 0;
    const context: ParseContext = { tenantId: 'slack:T1', userId: 'slack:U1', conversation: { platform: 'slack', tenantId: 'slack:T1', channelId: 'C1' }, apps: async () => { apps++; return [{ name: 'web', environment: 'staging' }]; } };
    api.fallback = { kind: 'tool', input: { action: 'restart', app: 'web' } };
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const parsed = parseIntent(text, parser, context, () => gate);
    await new Promise((r) => setTimeout(r, 50));
    expect(apps).toBe(1); // already read
    expect(api.requests).toHaveLength(0); // but not sent
    release();
    expect(await parsed).toEqual({ intent: { action: 'restart', app: 'web' }, parser: 'llm' });
    expect(api.requests).toHaveLength(1);
    await expect(parseIntent(text, parser, context, async () => { throw new Error('audit down'); })).rejects.toThrow('audit down');
    expect(api.requests).toHaveLength(1);
  });
});
