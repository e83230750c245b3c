/**
 * A fake Discord REST API at the wire (node:http), for the real discord.js client pointed at
 * it with `rest: { api: '<url>/api' }`. Answers what Hoist uses: `GET /v10/gateway/bot` (the
 * fake gateway's ws:// URL), channel messages (POST / PATCH, JSON or multipart), threads from
 * a message, interaction callbacks (a second answer to one interaction is refused with 40060,
 * like Discord), webhook follow-ups and `@original` edits and deletes (like Discord, the first
 * follow-up after a deferred reply that is still "thinking…" becomes that reply, with the
 * deferral's visibility whatever flags it asks for), DM channels and command
 * registration. Every call is recorded with its raw body, so tests can assert what Discord
 * saw and that a secret never reached it. A 204 carries no content-type (discord.js would
 * try to parse it).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DiscordCall {
  method: string;
  /** Path below /api/v10, e.g. `/channels/1/messages`. */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | unknown[] | undefined;
  raw: string;
  auth?: string;
  status: number;
  response?: Record<string, unknown> | unknown[];
  at: number;
}

export interface FakeMessage extends Record<string, unknown> {
  id: string;
  channel_id: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  flags: number;
}

let seq = 0;
/** Discord-like snowflakes: time-ordered, unique within the process. */
export function snowflake(): string {
  return String(((BigInt(Date.now()) - 1420070400000n) << 22n) + BigInt(++seq % 4096));
}

export interface FakeIds { appId: string; botId: string; guildId: string }

export class FakeDiscordRest {
  readonly calls: DiscordCall[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** interaction token → the message `@original` refers to, once there is one. */
  private readonly originals = new Map<string, { messageId?: string; channelId: string }>();
  private readonly answered = new Set<string>();
  /** interaction token → the flags of a deferred reply (type 5) still showing "thinking…". */
  private readonly loading = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private server!: Server;
  url = '';
  gatewayUrl = '';
  /** Told of every thread created, so the fake gateway can dispatch THREAD_CREATE like Discord. */
  onThread?: (thread: Record<string, unknown>) => void;

  constructor(readonly ids: FakeIds) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** What DISCORD_API_URL is set to. */
  get apiUrl() { return `${this.url}/api`; }

  async close(): Promise<void> {
    await new Promise<void>((r) => { this.server.close(() => r()); this.server.closeAllConnections(); });
  }

  /** An interaction the test is about to dispatch: for a component, `@original` is the message it sits on. */
  registerInteraction(token: string, at: { channelId: string; messageId?: string }) {
    this.originals.set(token, { ...at });
  }

  of(method: string, path: RegExp): DiscordCall[] {
    return this.calls.filter((c) => c.method === method && path.test(c.path) && c.status < 300);
  }

  /** Everything Discord was sent, as one string (for "never reached Discord" checks). */
  allRaw(): string {
    return this.calls.map((c) => `${c.path} ${c.raw}`).join('\n');
  }

  async waitFor<T>(pick: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pick();
      if (v) return v;
      if (Date.now() > until) {
        throw new Error(`timed out waiting for ${what}; Discord saw:\n${this.calls.map((c) => `${c.status} ${c.method} ${c.path} ${c.raw.slice(0, 300)}`).join('\n')}`);
      }
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(u.pathname).replace(/^\/api\/v10/, '');
    const call: DiscordCall = {
      method: req.method ?? 'GET', path, query: u.searchParams, body: parseBody(raw, String(req.headers['content-type'] ?? '')),
      raw, auth: req.headers.authorization, status: 200, at: Date.now(),
    };
    let out: { status: number; body?: unknown };
    try {
      out = this.answer(call);
    } catch (e) {
      out = { status: 500, body: { message: String(e), code: 0 } };
    }
    call.status = out.status;
    call.response = out.body as DiscordCall['response'];
    this.calls.push(call);
    for (const w of this.waiters.splice(0)) w();
    if (out.status === 204) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(out.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out.body ?? {}));
  }

  private message(channelId: string, body: Record<string, unknown>, flags = 0): FakeMessage {
    const m: FakeMessage = {
      id: snowflake(), type: 0, channel_id: channelId, guild_id: this.ids.guildId,
      author: { id: this.ids.botId, username: 'hoist', discriminator: '0', bot: true, avatar: null, global_name: null },
      content: String(body.content ?? ''), embeds: (body.embeds as unknown[]) ?? [], components: (body.components as unknown[]) ?? [],
      attachments: [], mentions: [], mention_roles: [], mention_everyone: false, pinned: false, tts: false,
      timestamp: new Date().toISOString(), edited_timestamp: null, flags: Number(body.flags ?? flags),
      ...(body.message_reference ? { message_reference: body.message_reference } : {}),
    };
    this.messages.set(m.id, m);
    return m;
  }

  private edit(id: string, channelId: string, body: Record<string, unknown>): FakeMessage {
    const cur = this.messages.get(id) ?? this.message(channelId, {});
    const next: FakeMessage = {
      ...cur, id,
      ...(body.content !== undefined ? { content: String(body.content) } : {}),
      ...(body.embeds !== undefined ? { embeds: body.embeds as unknown[] } : {}),
      ...(body.components !== undefined ? { components: body.components as unknown[] } : {}),
      edited_timestamp: new Date().toISOString(),
    };
    this.messages.set(id, next);
    return next;
  }

  private answer(c: DiscordCall): { status: number; body?: unknown } {
    const b = (c.body && !Array.isArray(c.body) ? c.body : {}) as Record<string, unknown>;
    const p = c.path;
    let m: RegExpExecArray | null;
    if (c.method === 'GET' && p === '/gateway/bot') {
      return { status: 200, body: { url: this.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 } } };
    }
    if (c.method === 'GET' && p === '/users/@me') return { status: 200, body: { id: this.ids.botId, username: 'hoist', discriminator: '0', bot: true } };
    if (c.method === 'POST' && p === '/users/@me/channels') {
      return { status: 200, body: { id: `9${String(b.recipient_id).slice(1)}`, type: 1, recipients: [{ id: b.recipient_id, username: 'u', discriminator: '0' }] } };
    }
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(p)) && c.method === 'POST') return { status: 200, body: this.message(m[1]!, b) };
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(p)) && c.method === 'PATCH') return { status: 200, body: this.edit(m[2]!, m[1]!, b) };
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(p)) && c.method === 'POST') {
      // Like Discord: a thread started from a message has the message's id.
      const thread = {
        id: m[2]!, type: 11, guild_id: this.ids.guildId, parent_id: m[1]!, owner_id: this.ids.botId, name: b.name,
        thread_metadata: { archived: false, auto_archive_duration: b.auto_archive_duration ?? 1440, archive_timestamp: new Date().toISOString(), locked: false },
        message_count: 0, member_count: 1, rate_limit_per_user: 0, flags: 0, last_message_id: null,
      };
      this.onThread?.(thread);
      return { status: 201, body: thread };
    }
    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(p)) && c.method === 'POST') {
      const [, id, token] = m;
      if (this.answered.has(id!)) return { status: 400, body: { message: 'Interaction has already been acknowledged.', code: 40060 } };
      this.answered.add(id!);
      const at = this.originals.get(token!) ?? { channelId: '0' };
      const data = (b.data ?? {}) as Record<string, unknown>;
      switch (b.type) {
        case 4: case 5: {
          const msg = this.message(at.channelId, b.type === 4 ? data : { content: '' }, Number(data.flags ?? 0));
          this.originals.set(token!, { ...at, messageId: msg.id });
          if (b.type === 5) this.loading.set(token!, Number(data.flags ?? 0));
          break;
        }
        case 7: if (at.messageId) this.edit(at.messageId, at.channelId, data); break;
        default: break;
      }
      return { status: 204 };
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/.exec(p))) {
      const [, app, token, which] = m;
      if (app !== this.ids.appId) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      const at = this.originals.get(token!);
      const id = which === '@original' ? at?.messageId : which;
      if (!at || !id) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
      if (which === '@original' && c.method !== 'GET') this.loading.delete(token!);
      if (c.method === 'PATCH') return { status: 200, body: this.edit(id, at.channelId, b) };
      if (c.method === 'DELETE') {
        this.messages.delete(id);
        if (which === '@original') this.originals.set(token!, { channelId: at.channelId });
        return { status: 204 };
      }
      if (c.method === 'GET') return { status: 200, body: this.messages.get(id) };
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(p)) && c.method === 'POST') {
      const at = this.originals.get(m[2]!);
      if (!at) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      const deferredFlags = this.loading.get(m[2]!);
      if (deferredFlags !== undefined && at.messageId) {
        this.loading.delete(m[2]!);
        const msg = this.edit(at.messageId, at.channelId, b);
        const resolved = { ...msg, flags: deferredFlags };
        this.messages.set(msg.id, resolved);
        return { status: 200, body: resolved };
      }
      return { status: 200, body: this.message(at.channelId, b) };
    }
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(p)) && c.method === 'PUT') {
      const list = (Array.isArray(c.body) ? c.body : []) as Array<Record<string, unknown>>;
      return { status: 200, body: list.map((cmd) => ({ ...cmd, id: snowflake(), application_id: m![1], ...(m![2] ? { guild_id: m![2] } : {}), version: snowflake() })) };
    }
    return { status: 404, body: { message: '404: Not Found', code: 0 } };
  }
}

/** JSON, or multipart/form-data with a payload_json part (messages with files). */
function parseBody(raw: string, type: string): DiscordCall['body'] {
  if (!raw) return undefined;
  if (type.includes('json')) {
    try { return JSON.parse(raw) as DiscordCall['body']; } catch { return undefined; }
  }
  const boundary = /boundary=([^;]+)/.exec(type)?.[1];
  if (!boundary) return undefined;
  const out: Record<string, unknown> = { files: [] as string[] };
  for (const part of raw.split(`--${boundary}`)) {
    const name = /name="([^"]+)"/.exec(part)?.[1];
    const body = part.split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/\r\n$/, '');
    if (name === 'payload_json') Object.assign(out, JSON.parse(body) as object);
    else if (name) (out.files as string[]).push(/filename="([^"]+)"/.exec(part)?.[1] ?? name);
  }
  return out;
}

export const newToken = () => randomBytes(24).toString('base64url');

export interface ButtonRef { custom_id: string; label?: string }

/** Every button of a message body or response. */
export function buttonsOf(body: unknown): ButtonRef[] {
  const rows = ((body as { components?: unknown[] } | undefined)?.components ?? []) as Array<{ components?: ButtonRef[] }>;
  return rows.flatMap((r) => r.components ?? []).map((b) => ({ custom_id: b.custom_id, label: b.label }));
}

/** All human-visible text of a body: content plus embed title, description, fields and footer. */
export function textOf(body: unknown): string {
  const b = (body ?? {}) as { content?: string; embeds?: Array<Record<string, unknown>> };
  const parts: string[] = [];
  if (b.content) parts.push(b.content);
  for (const e of b.embeds ?? []) {
    if (e.title) parts.push(String(e.title));
    if (e.description) parts.push(String(e.description));
    for (const f of (e.fields as Array<{ name: string; value: string }> | undefined) ?? []) parts.push(`${f.name}: ${f.value}`);
    if (e.footer) parts.push(String((e.footer as { text: string }).text));
  }
  return parts.join('\n');
}
