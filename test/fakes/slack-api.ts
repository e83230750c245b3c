/**
 * A fake Slack Web API at the wire: a node:http server answering `/api/<method>` (form or
 * JSON bodies; `blocks`/`view` JSON strings are decoded) and `/response/<id>` (response_url
 * posts). Every call is recorded with its raw body, so tests can assert what Slack saw and
 * that a secret never reached it. `rateLimitOnce(method, s)` answers the next call of a
 * method with 429 + Retry-After; `apps.connections.open` returns `socketUrl` when set.
 * Files follow Slack's upload flow: files.getUploadURLExternal hands out `/upload/<id>`, the
 * bytes are POSTed there, files.completeUploadExternal shares them in `channel_id`
 * (`files` lists what was completed). conversations.open answers DM channel `D<user>`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  raw: string;
  auth?: string;
  status: number;
  /** What the fake answered (e.g. the `ts` of a posted message). */
  response?: Record<string, unknown>;
}

export interface SlackFile {
  id: string;
  filename: string;
  length: number;
  /** The bytes POSTed to the upload URL, as UTF-8. */
  content?: string;
  /** Set by files.completeUploadExternal. */
  channel?: string;
  comment?: string;
}

export class FakeSlackApi {
  readonly calls: SlackCall[] = [];
  readonly uploads = new Map<string, SlackFile>();
  socketUrl?: string;
  private server!: Server;
  private seq = 0;
  private limited = new Map<string, number>();
  private waiters: Array<() => void> = [];
  url = '';

  constructor(readonly ids: { botUserId: string; botId: string; teamId: string }) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, body, headers }) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    }));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get apiUrl() { return `${this.url}/api/`; }
  responseUrl(id: string) { return `${this.url}/response/${id}`; }

  async close(): Promise<void> {
    await new Promise<void>((r) => { this.server.close(() => r()); this.server.closeAllConnections(); });
  }

  rateLimitOnce(method: string, retryAfterSec: number) {
    this.limited.set(method, retryAfterSec);
  }

  nextTs(): string {
    return `${1_700_000_000 + ++this.seq}.${String(this.seq).padStart(6, '0')}`;
  }

  /** Files shared in a channel (upload completed). */
  files(): SlackFile[] {
    return [...this.uploads.values()].filter((f) => f.channel);
  }

  of(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200);
  }

  /** Everything Slack was sent, as one string (for "never reached Slack" checks). */
  allRaw(): string {
    return this.calls.map((c) => c.raw).join('\n');
  }

  async waitFor<T>(pick: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pick();
      if (v) return v;
      if (Date.now() > until) {
        throw new Error(`timed out waiting for ${what}; Slack saw:\n${this.calls.map((c) => `${c.status} ${c.method} ${textOf(c).slice(0, 300)}`).join('\n')}`);
      }
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', this.url).pathname;
    const method = path.startsWith('/response/') ? 'response_url' : path.startsWith('/upload/') ? 'upload' : path.replace(/^\/api\//, '');
    const type = String(req.headers['content-type'] ?? '');
    const body = method === 'upload'
      ? { file_id: path.slice('/upload/'.length), content: await uploadedBytes(Buffer.concat(chunks), type) }
      : parseBody(raw, type);
    const limit = this.limited.get(method);
    const call: SlackCall = { method, body, raw, auth: req.headers.authorization, status: limit !== undefined ? 429 : 200 };
    this.calls.push(call);
    for (const w of this.waiters.splice(0)) w();
    if (limit !== undefined) {
      this.limited.delete(method);
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(limit) } };
    }
    call.response = this.answer(method, body) as Record<string, unknown>;
    return { status: 200, body: call.response };
  }

  private answer(method: string, b: Record<string, unknown>): unknown {
    switch (method) {
      case 'auth.test': return { ok: true, user_id: this.ids.botUserId, bot_id: this.ids.botId, team_id: this.ids.teamId, user: 'hoist', team: 'Test' };
      case 'chat.postMessage': {
        const ts = this.nextTs();
        return { ok: true, channel: b.channel, ts, message: { ts, text: b.text, ...(b.thread_ts ? { thread_ts: b.thread_ts } : {}) } };
      }
      case 'chat.update': return { ok: true, channel: b.channel, ts: b.ts, text: b.text };
      case 'chat.postEphemeral': return { ok: true, message_ts: this.nextTs() };
      case 'views.open': return { ok: true, view: { id: `V${this.seq++}` } };
      case 'apps.connections.open': return this.socketUrl ? { ok: true, url: this.socketUrl } : { ok: false, error: 'no_socket' };
      case 'response_url': return { ok: true };
      case 'conversations.open': return b.users ? { ok: true, channel: { id: `D${String(b.users)}` } } : { ok: false, error: 'users_not_found' };
      case 'files.getUploadURLExternal': {
        const id = `F${++this.seq}`;
        this.uploads.set(id, { id, filename: String(b.filename), length: Number(b.length) });
        return { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case 'upload': {
        const f = this.uploads.get(String(b.file_id));
        if (!f) return { ok: false, error: 'unknown_upload' };
        f.content = String(b.content);
        return { ok: true };
      }
      case 'files.completeUploadExternal': {
        const files = (typeof b.files === 'string' ? JSON.parse(b.files) : b.files) as Array<{ id: string; title?: string }>;
        const done = files.map((x) => this.uploads.get(x.id)).filter((f): f is SlackFile => f !== undefined && f.content !== undefined);
        if (done.length !== files.length) return { ok: false, error: 'file_not_found' };
        for (const f of done) Object.assign(f, { channel: String(b.channel_id), ...(b.initial_comment ? { comment: String(b.initial_comment) } : {}) });
        return { ok: true, files: done.map((f) => ({ id: f.id, title: f.filename })) };
      }
      default: return { ok: false, error: 'unknown_method' };
    }
  }
}

/** What an upload URL received: the raw body, or the file part of a multipart/form-data body (as the Web API client sends it). */
async function uploadedBytes(raw: Buffer, type: string): Promise<string> {
  if (!type.includes('multipart/form-data')) return raw.toString('utf8');
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
  for (const v of form.values()) if (typeof v !== 'string') return Buffer.from(await v.arrayBuffer()).toString('utf8');
  return '';
}

function parseBody(raw: string, type: string): Record<string, unknown> {
  if (!raw) return {};
  let out: Record<string, unknown>;
  if (type.includes('json')) out = JSON.parse(raw) as Record<string, unknown>;
  else out = Object.fromEntries(new URLSearchParams(raw));
  for (const k of ['blocks', 'view', 'attachments']) {
    if (typeof out[k] === 'string') {
      try { out[k] = JSON.parse(out[k] as string); } catch { /* left as sent */ }
    }
  }
  return out;
}

/** All human-visible text of a call: `text` plus every text field inside blocks. */
export function textOf(c: SlackCall): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') parts.push(x);
        else walk(x);
      }
    }
  };
  if (typeof c.body.text === 'string') parts.push(c.body.text);
  walk(c.body.blocks);
  return parts.join('\n');
}

export interface Button { action_id: string; value: string }

export function buttonsOf(c: SlackCall): Button[] {
  const out: Button[] = [];
  for (const b of (c.body.blocks as Array<Record<string, unknown>> | undefined) ?? []) {
    if (b.type !== 'actions') continue;
    for (const e of b.elements as Array<Record<string, unknown>>) out.push({ action_id: String(e.action_id), value: String(e.value) });
  }
  return out;
}
