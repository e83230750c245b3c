/**
 * The offline grammar: every form in PRODUCT.md's table, deterministic, no LLM.
 * Returns an intent, or `unknown` with a reason that says what was expected — the
 * reason becomes the answer in the thread, so it names the form to use.
 */
import { APP_NAME, ENV_KEY, IntentSchema, ROLES, TARGET_NAME, type Intent, type Role } from '../../workers/contract/index.ts';
import type { RedactedText } from '../core/types.ts';

const PLACEHOLDER = /^⟦secret:\d+:[a-z0-9_]+⟧$/;
const unknown = (reason: string): Intent => ({ action: 'unknown', reason });

function appName(tok: string | undefined, usage: string): string | Intent {
  if (!tok) return unknown(`Which app? Usage: ${usage}`);
  const name = tok.toLowerCase();
  if (!APP_NAME.test(name)) return unknown(`"${tok}" is not a valid app name (lowercase letters, digits and dashes, up to 40). Usage: ${usage}`);
  return name;
}

function int(tok: string | undefined, what: string, min: number, max: number): number | Intent {
  if (tok === undefined || !/^\d+$/.test(tok)) return unknown(`${what} must be a whole number${tok ? `, not "${tok}"` : ''}.`);
  const n = Number(tok);
  if (n < min || n > max) return unknown(`${what} must be between ${min} and ${max}.`);
  return n;
}

const isIntent = (v: unknown): v is Intent => typeof v === 'object' && v !== null && 'action' in v;

const USAGE = {
  deploy: 'deploy <app> [<tag> | image <ref> | from <git-url>[#ref]] [port <n>] [to <env>] [on <target>] [replicas <n>] [health <path>]',
  rollback: 'rollback <app> [to <deployment-id>]',
  scale: 'scale <app> to <n>',
  set: 'set <KEY>=<value> on <app>  or  set <KEY> on <app>',
  unset: 'unset <KEY> on <app>',
  logs: 'logs <app> [<n>]',
  history: 'history <app>',
  grant: `grant @user <${ROLES.join('|')}>`,
  revoke: 'revoke @user',
};

function parseDeploy(t: string[]): Intent {
  const app = appName(t[1], USAGE.deploy);
  if (isIntent(app)) return app;
  const out: Intent = { action: 'deploy', app };
  let i = 2;
  while (i < t.length) {
    const w = t[i]!.toLowerCase();
    const next = t[i + 1];
    if (w === 'image' || w === 'from' || w === 'port' || w === 'to' || w === 'on' || w === 'replicas' || w === 'health') {
      if (next === undefined) return unknown(`"${w}" needs a value. Usage: ${USAGE.deploy}`);
      if (w === 'image') out.image = next;
      else if (w === 'health') {
        if (!/^\/[!-~]{0,199}$/.test(next)) return unknown(`The health path must start with / (e.g. health /healthz), not "${next}".`);
        out.healthPath = next;
      }
      else if (w === 'from') {
        const [src, ref] = next.split('#', 2);
        out.source = src!;
        if (ref) out.ref = ref;
      } else if (w === 'to') out.environment = next.toLowerCase();
      else if (w === 'on') {
        const target = next.toLowerCase();
        if (!TARGET_NAME.test(target)) return unknown(`"${next}" is not a deploy target name (e.g. on swarm, on default). Usage: ${USAGE.deploy}`);
        out.target = target;
      }
      else {
        const n = w === 'port' ? int(next, 'port', 1, 65535) : int(next, 'replicas', 0, 20);
        if (isIntent(n)) return n;
        if (w === 'port') out.port = n; else out.replicas = n;
      }
      i += 2;
    } else if (i === 2 && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t[i]!)) {
      out.image = `:${t[i]}`; // bare tag: resolved against the app's current image
      i += 1;
    } else {
      return unknown(`I did not understand "${t[i]}". Usage: ${USAGE.deploy}`);
    }
  }
  if (out.image && out.source) return unknown('Deploy either an image or a git source, not both.');
  return out;
}

function parseSet(t: string[], raw: string): Intent {
  // set KEY=value on app | set KEY on app
  const m = /^set\s+([^\s=]+)(?:\s*=\s*(\S+))?\s+on\s+(\S+)\s*$/i.exec(raw);
  if (!m) return unknown(`Usage: ${USAGE.set}`);
  const [, key, value, appTok] = m;
  if (!ENV_KEY.test(key!)) return unknown(`"${key}" is not a valid variable name (letters, digits and _).`);
  const app = appName(appTok, USAGE.set);
  if (isIntent(app)) return app;
  if (value !== undefined && !PLACEHOLDER.test(value)) {
    return unknown('The value was not sealed; send it again as set KEY=value on app.');
  }
  void t;
  return { action: 'set_env', app, key: key!, ...(value ? { value } : {}) };
}

function userRef(tok: string | undefined): string | undefined {
  if (!tok) return undefined;
  const slack = /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/.exec(tok);
  if (slack) return slack[1];
  const discord = /^<@!?(\d+)>$/.exec(tok);
  if (discord) return discord[1];
  return tok.replace(/^@/, '');
}

export function parseGrammar(text: RedactedText): Intent {
  const raw = text.trim().replace(/^(?:\/|@)?hoist\b[:,]?\s*/i, '').trim();
  const t = raw.split(/\s+/).filter(Boolean);
  const verb = t[0]?.toLowerCase();
  let intent: Intent;
  switch (verb) {
    case undefined: intent = unknown('Say something like "deploy web image nginx:1 port 80", or "help".'); break;
    case 'help': case '?': intent = { action: 'help' }; break;
    case 'deploy': intent = parseDeploy(t); break;
    case 'rollback': {
      const app = appName(t[1], USAGE.rollback);
      if (isIntent(app)) { intent = app; break; }
      if (t.length === 2) intent = { action: 'rollback', app };
      else if (t[2]?.toLowerCase() === 'to' && t[3] && t.length === 4) intent = { action: 'rollback', app, deployment: t[3] };
      else intent = unknown(`Usage: ${USAGE.rollback}`);
      break;
    }
    case 'restart': case 'stop': case 'start': {
      const app = appName(t[1], `${verb} <app>`);
      intent = isIntent(app) ? app : t.length > 2 ? unknown(`Usage: ${verb} <app>`) : { action: verb, app };
      break;
    }
    case 'scale': {
      const app = appName(t[1], USAGE.scale);
      if (isIntent(app)) { intent = app; break; }
      if (t[2]?.toLowerCase() !== 'to' || t.length !== 4) { intent = unknown(`Usage: ${USAGE.scale}`); break; }
      const n = int(t[3], 'replicas', 0, 20);
      intent = isIntent(n) ? n : { action: 'scale', app, replicas: n };
      break;
    }
    case 'set': intent = parseSet(t, raw); break;
    case 'unset': {
      const m = /^unset\s+(\S+)\s+on\s+(\S+)\s*$/i.exec(raw);
      if (!m) { intent = unknown(`Usage: ${USAGE.unset}`); break; }
      if (!ENV_KEY.test(m[1]!)) { intent = unknown(`"${m[1]}" is not a valid variable name.`); break; }
      const app = appName(m[2], USAGE.unset);
      intent = isIntent(app) ? app : { action: 'unset_env', app, key: m[1]! };
      break;
    }
    case 'status': {
      if (t.length === 1) { intent = { action: 'status' }; break; }
      const app = appName(t[1], 'status [<app>]');
      intent = isIntent(app) ? app : t.length > 2 ? unknown('Usage: status [<app>]') : { action: 'status', app };
      break;
    }
    case 'apps': intent = t.length === 1 ? { action: 'apps' } : unknown('Usage: apps'); break;
    case 'history': {
      const app = appName(t[1], USAGE.history);
      intent = isIntent(app) ? app : t.length > 2 ? unknown(`Usage: ${USAGE.history}`) : { action: 'history', app };
      break;
    }
    case 'logs': {
      const app = appName(t[1], USAGE.logs);
      if (isIntent(app)) { intent = app; break; }
      if (t.length === 2) { intent = { action: 'logs', app }; break; }
      const n = t.length === 3 ? int(t[2], 'lines', 1, 1000) : unknown(`Usage: ${USAGE.logs}`);
      intent = isIntent(n) ? n : { action: 'logs', app, lines: n };
      break;
    }
    case 'privacy': {
      const rest = t.slice(1).join(' ').toLowerCase();
      if (rest === '') intent = { action: 'privacy', request: 'show' };
      else if (rest === 'export') intent = { action: 'privacy', request: 'export' };
      else if (rest === 'forget me') intent = { action: 'privacy', request: 'forget_me' };
      else intent = unknown('Usage: privacy | privacy export | privacy forget me');
      break;
    }
    case 'grant': {
      const user = userRef(t[1]);
      const role = t[2]?.toLowerCase();
      if (!user || !role || t.length !== 3 || !(ROLES as readonly string[]).includes(role)) { intent = unknown(`Usage: ${USAGE.grant}`); break; }
      intent = { action: 'grant', user, role: role as Role };
      break;
    }
    case 'revoke': {
      const user = userRef(t[1]);
      intent = user && t.length === 2 ? { action: 'revoke', user } : unknown(`Usage: ${USAGE.revoke}`);
      break;
    }
    default:
      intent = unknown(`I don't know "${t[0]}".`);
  }
  const checked = IntentSchema.safeParse(intent);
  return checked.success ? checked.data : unknown(checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
}
