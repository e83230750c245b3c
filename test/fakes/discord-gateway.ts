/**
 * A fake Discord gateway (a local `ws` server, JSON encoding, no compression). Per
 * connection: HELLO → the client's IDENTIFY → READY (session_id, resume_gateway_url) and
 * GUILD_CREATE, or the client's RESUME → the events it missed → RESUMED. Heartbeats are
 * acked. `dispatch` numbers every event and keeps it, so events sent while the client is
 * away are delivered on resume; `drop({ replay })` closes the socket with a resumable code
 * and makes the next resume also replay the last `replay` events the client already had
 * (an at-least-once gateway), which Hoist must process once.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface GatewayEvent { s: number; t: string; d: unknown }

export interface GuildSetup { id: string; name?: string; channels: Array<{ id: string; name: string }> }

export class FakeDiscordGateway {
  private wss!: WebSocketServer;
  private client?: WebSocket;
  private identified = false;
  private sessionId = '';
  private seq = 0;
  private forcedReplay = 0;
  private waiters: Array<() => void> = [];
  readonly events: GatewayEvent[] = [];
  readonly identifies: Array<{ at: number; d: Record<string, unknown> }> = [];
  readonly resumes: Array<{ at: number; path: string; d: Record<string, unknown>; replayed: number }> = [];
  readonly threads: Array<Record<string, unknown>> = [];
  url = '';
  /** While true, IDENTIFY and RESUME go unanswered (a gateway outage). */
  unresponsive = false;

  constructor(readonly ids: { botId: string; appId: string }, readonly guild: GuildSetup) {}

  async start(): Promise<this> {
    this.wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    this.url = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req.url ?? '/'));
    return this;
  }

  private send(ws: WebSocket, payload: unknown) {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
  }

  private notify() {
    for (const w of this.waiters.splice(0)) w();
  }

  private onConnection(ws: WebSocket, path: string) {
    this.client = ws;
    this.identified = false;
    this.send(ws, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { op: number; d: Record<string, unknown> };
      switch (msg.op) {
        case 1: return this.send(ws, { op: 11 });
        case 2: return this.unresponsive ? undefined : this.onIdentify(ws, msg.d);
        case 6: return this.unresponsive ? undefined : this.onResume(ws, msg.d, path);
        default: return undefined;
      }
    });
    ws.on('close', () => { if (this.client === ws) this.client = undefined; });
  }

  private onIdentify(ws: WebSocket, d: Record<string, unknown>) {
    this.identifies.push({ at: Date.now(), d });
    this.sessionId = randomBytes(16).toString('hex');
    this.identified = true;
    this.events.length = 0;
    this.seq = 0;
    const user = { id: this.ids.botId, username: 'hoist', discriminator: '0', bot: true, avatar: null, global_name: null, flags: 0 };
    this.dispatch('READY', {
      v: 10, user, guilds: [{ id: this.guild.id, unavailable: true }], session_id: this.sessionId,
      resume_gateway_url: `${this.url}/resume`, shard: [0, 1], application: { id: this.ids.appId, flags: 0 }, private_channels: [],
    });
    this.dispatch('GUILD_CREATE', this.guildCreate());
    this.notify();
    void ws;
  }

  private onResume(ws: WebSocket, d: Record<string, unknown>, path: string) {
    if (d.session_id !== this.sessionId) {
      this.send(ws, { op: 9, d: false });
      return;
    }
    const from = Math.max(0, Number(d.seq ?? 0) - this.forcedReplay);
    this.forcedReplay = 0;
    const missed = this.events.filter((e) => e.s > from);
    this.identified = true;
    for (const e of missed) this.send(ws, { op: 0, s: e.s, t: e.t, d: e.d });
    this.send(ws, { op: 0, s: this.seq, t: 'RESUMED', d: {} });
    this.resumes.push({ at: Date.now(), path, d, replayed: missed.length });
    this.notify();
  }

  private guildCreate() {
    const g = this.guild;
    return {
      id: g.id, name: g.name ?? 'ops', icon: null, owner_id: '1', afk_timeout: 300, verification_level: 0, default_message_notifications: 0,
      explicit_content_filter: 0, mfa_level: 0, nsfw_level: 0, premium_tier: 0, preferred_locale: 'en-US', features: [], emojis: [], stickers: [],
      roles: [{ id: g.id, name: '@everyone', permissions: '1071698660929', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      joined_at: new Date().toISOString(), large: false, unavailable: false, member_count: 4, voice_states: [], members: [], presences: [],
      stage_instances: [], guild_scheduled_events: [], system_channel_id: null, premium_progress_bar_enabled: false,
      channels: g.channels.map((c, i) => ({ id: c.id, type: 0, guild_id: g.id, name: c.name, position: i, permission_overwrites: [], parent_id: null, nsfw: false, rate_limit_per_user: 0, last_message_id: null })),
      threads: this.threads,
    };
  }

  /** Sends an event (numbered, kept for resumes); while the client is away it waits for the resume. */
  dispatch(t: string, d: unknown): number {
    const e = { s: ++this.seq, t, d };
    this.events.push(e);
    if (this.client && this.identified) this.send(this.client, { op: 0, s: e.s, t, d });
    return e.s;
  }

  /** Like Discord after a thread is created over REST. */
  threadCreated(thread: Record<string, unknown>) {
    this.threads.push(thread);
    this.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
  }

  /** Closes the client's socket with a resumable code; the next RESUME also replays `replay` events it already had. */
  drop(o: { replay?: number } = {}) {
    this.forcedReplay = o.replay ?? 0;
    this.identified = false;
    this.client?.close(4000, 'test: connection dropped');
  }

  async waitFor(pick: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pick()) {
      if (Date.now() > until) throw new Error(`gateway: timed out waiting for ${what} (identifies ${this.identifies.length}, resumes ${this.resumes.length})`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
