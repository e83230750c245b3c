/**
 * The model's answer is a proposal, checked like any untrusted input: exactly one call of
 * the one tool, an input that passes IntentSchema (strict, so no extra fields such as a
 * second action or a tenant), the fields each action needs, placeholders only from the
 * current message, names resolved against the tenant's own apps. Anything else becomes
 * `unknown` with a clarifying question — never a guess, never a card.
 */
import { IntentSchema, type Intent, type IntentAction } from '../../workers/contract/index.ts';
import { TOOL_NAME } from './prompt.ts';
import { resolveName } from './resolve.ts';

export interface ValidationContext {
  apps: Array<{ name: string; environment: string }>;
  environments: string[];
  /** ⟦secret:N:kind⟧ placeholders present in the message being read. */
  placeholders: ReadonlySet<string>;
}

export interface Checked {
  intent: Intent;
  /** ok, or why the proposal was not used (recorded with the request). */
  outcome: 'ok' | 'no_tool_call' | 'several_tool_calls' | 'unknown_tool' | 'out_of_schema' | 'missing_field' | 'did_you_mean' | 'exact_form_required' | 'model_unknown';
}

const REPHRASE = 'I could not read that reliably. Could you say it more plainly, e.g. "deploy web 1.4.2 to staging" or "restart api"?';

/** Fields each action may carry; anything else the model adds is dropped. */
const FIELDS: Record<IntentAction, { need: string[]; may: string[] }> = {
  deploy: { need: ['app'], may: ['image', 'source', 'ref', 'port', 'environment', 'replicas'] },
  rollback: { need: ['app'], may: ['deployment'] },
  restart: { need: ['app'], may: [] },
  stop: { need: ['app'], may: [] },
  start: { need: ['app'], may: [] },
  scale: { need: ['app', 'replicas'], may: [] },
  set_env: { need: ['app', 'key'], may: ['value'] },
  unset_env: { need: ['app', 'key'], may: [] },
  status: { need: [], may: ['app'] },
  apps: { need: [], may: [] },
  history: { need: ['app'], may: [] },
  logs: { need: ['app'], may: ['lines'] },
  privacy: { need: ['request'], may: [] },
  grant: { need: ['user', 'role'], may: [] },
  revoke: { need: ['user'], may: [] },
  help: { need: [], may: [] },
  unknown: { need: [], may: ['reason'] },
};

const unknown = (reason: string, outcome: Checked['outcome']): Checked => ({ intent: { action: 'unknown', reason }, outcome });

/** A clarifying question from the model is shown in the thread: one plain line, no pings. */
export function cleanQuestion(q: string | undefined): string {
  const s = (q ?? '').replace(/<[@!#][^>]*>/g, '').replace(/@(here|channel|everyone)\b/gi, '').replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (!s) return 'Could you rephrase that? I was not sure what to do.';
  return s.length > 300 ? `${s.slice(0, 297)}…` : s;
}

export function checkToolCalls(content: ReadonlyArray<{ type: string; name?: string; input?: unknown }>, ctx: ValidationContext): Checked {
  const calls = content.filter((b) => b.type === 'tool_use');
  if (calls.length === 0) return unknown(REPHRASE, 'no_tool_call');
  if (calls.length > 1) return unknown(`I can do one thing per message. ${REPHRASE}`, 'several_tool_calls');
  const call = calls[0]!;
  if (call.name !== TOOL_NAME) return unknown(REPHRASE, 'unknown_tool');
  return checkInput(call.input, ctx);
}

export function checkInput(input: unknown, ctx: ValidationContext): Checked {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return unknown(REPHRASE, 'out_of_schema');
  const raw: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  // Lenient only about case, which the schema's lowercase patterns would otherwise reject.
  for (const k of ['app', 'environment'] as const) if (typeof raw[k] === 'string') raw[k] = (raw[k] as string).trim().toLowerCase();
  if ('value_placeholder' in raw) {
    const p = raw.value_placeholder;
    delete raw.value_placeholder;
    // Only a placeholder sealed from this very message can stand for a value.
    if (typeof p === 'string' && ctx.placeholders.has(p)) raw.value = p;
  }
  if ('value' in input) return unknown(REPHRASE, 'out_of_schema'); // the model may not write a value itself
  const parsed = IntentSchema.safeParse(raw);
  if (!parsed.success) return unknown(REPHRASE, 'out_of_schema');
  const full = parsed.data;
  const spec = FIELDS[full.action];
  const intent = Object.fromEntries(Object.entries(full).filter(([k]) => k === 'action' || spec.need.includes(k) || spec.may.includes(k))) as Intent;
  const appNames = ctx.apps.map((a) => a.name);
  const appList = appNames.length ? appNames.join(', ') : 'none yet';

  if (intent.action === 'unknown') return unknown(cleanQuestion(intent.reason), 'model_unknown');
  if (intent.action === 'grant' || intent.action === 'revoke' || (intent.action === 'privacy' && intent.request !== 'show')) {
    // Role changes and data export/erasure act at once, without a card: only the exact form does them.
    const form = intent.action === 'grant' ? 'grant @user <role>' : intent.action === 'revoke' ? 'revoke @user' : intent.request === 'export' ? 'privacy export' : 'privacy forget me';
    return unknown(`For that, write the exact command: ${form}`, 'exact_form_required');
  }
  for (const f of spec.need) {
    if ((intent as Record<string, unknown>)[f] === undefined) {
      const q = f === 'app' ? `Which app? Your apps: ${appList}.` : f === 'replicas' ? 'How many replicas?' : f === 'key' ? 'Which environment variable?' : REPHRASE;
      return unknown(q, 'missing_field');
    }
  }
  if (intent.app) {
    const r = resolveName(intent.app, appNames);
    if (r.kind === 'exact') intent.app = r.name;
    else if (r.kind === 'suggest') return unknown(`Did you mean ${r.names.join(' or ')}? Your apps: ${appList}.`, 'did_you_mean');
  }
  if (intent.environment) {
    const r = resolveName(intent.environment, ctx.environments);
    if (r.kind === 'exact') intent.environment = r.name;
    else if (r.kind === 'suggest') return unknown(`Did you mean the ${r.names.join(' or ')} environment?`, 'did_you_mean');
  }
  return { intent, outcome: 'ok' };
}
