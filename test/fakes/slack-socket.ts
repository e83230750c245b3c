/**
 * A fake Socket Mode endpoint: a local `ws` server that greets each connection with
 * `hello`, pushes envelopes (`events_api`, `interactive`, `slash_commands`) and resolves
 * each push when the client's ack for that envelope_id arrives.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export class FakeSlackSocket {
  private wss!: WebSocketServer;
  private client?: WebSocket;
  private connected: Array<() => void> = [];
  private acks = new Map<string, (ack: Record<string, unknown>) => void>();
  url = '';

  async start(): Promise<this> {
    this.wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    this.url = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/link`;
    this.wss.on('connection', (ws) => {
      this.client = ws;
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as Record<string, unknown>;
        const done = this.acks.get(String(msg.envelope_id));
        if (done) { this.acks.delete(String(msg.envelope_id)); done(msg); }
      });
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake' }, connection_info: { app_id: 'AHOIST' } }));
      for (const c of this.connected.splice(0)) c();
    });
    return this;
  }

  waitConnected(): Promise<void> {
    return this.client ? Promise.resolve() : new Promise((r) => this.connected.push(r));
  }

  /** Sends one envelope and resolves with the client's ack. */
  push(type: 'events_api' | 'interactive' | 'slash_commands', payload: unknown, retryAttempt = 0): Promise<Record<string, unknown>> {
    const envelope_id = randomBytes(8).toString('hex');
    const acked = new Promise<Record<string, unknown>>((r, rej) => {
      this.acks.set(envelope_id, r);
      setTimeout(() => rej(new Error(`no ack for ${type} within 5s`)), 5_000).unref();
    });
    this.client!.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: retryAttempt, retry_reason: '' }));
    return acked;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
