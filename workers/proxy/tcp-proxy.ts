/**
 * One app's stable endpoint: a TCP listener that spreads connections round-robin over the
 * current deployment's replicas. Contract: `setTargets` swaps the target list at once (new
 * connections go only to the new targets from that moment) and resolves when every
 * connection still open to a target that left the list has closed, or after `drainMs`;
 * only then may the caller stop the old replicas. A connection whose target refuses is
 * retried on the next target before the client notices; with no target left it is closed.
 * Bytes are piped, never parsed: any TCP protocol works. While draining, a connection to an
 * old target that is idle (the last bytes went to the client, then `idleCloseMs` of quiet:
 * an HTTP keep-alive connection between requests) is closed gracefully (FIN to the client,
 * which then opens a new connection, to a new target); a request in flight (the last bytes
 * went upstream) is left to finish. At `drainMs` the rest ends: between requests with a FIN,
 * with a request still in flight cut.
 */
import net from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface AppProxyOptions {
  drainMs: number;
  /** Quiet time after which a draining connection whose last bytes went to the client counts as idle (default 1000). */
  idleCloseMs?: number;
  connectTimeoutMs?: number;
  onError?: (err: Error) => void;
}

const key = (t: ProxyTarget) => `${t.host}:${t.port}`;

export class AppProxy {
  private targets: ProxyTarget[] = [];
  private next = 0;
  /** Open upstream connections per target key. */
  private readonly open = new Map<string, Set<net.Socket>>();
  /** Per upstream connection: its client and when bytes last moved each way. */
  private readonly traffic = new Map<net.Socket, { client: net.Socket; lastUp: boolean; at: number }>();
  private readonly server: net.Server;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly listenHost: string,
    readonly port: number,
    private readonly opts: AppProxyOptions,
  ) {
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => this.accept(client));
    this.server.on('error', (e) => opts.onError?.(e));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(e);
      this.server.once('error', fail);
      this.server.listen({ host: this.listenHost, port: this.port }, () => {
        this.server.off('error', fail);
        resolve();
      });
    });
  }

  current(): ProxyTarget[] {
    return [...this.targets];
  }

  /** Connections open per target (tests and the drain wait). */
  connections(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.size;
    return n;
  }

  async setTargets(list: ProxyTarget[]): Promise<void> {
    const keep = new Set(list.map(key));
    this.targets = [...list];
    this.next = 0;
    const draining = () => [...this.open.entries()].some(([k, s]) => !keep.has(k) && s.size > 0);
    if (!draining()) return;
    // What is still open after the bound is closed here, by the proxy, rather than by the old
    // replica's shutdown a moment later: gracefully where no request is in flight.
    const cut = () => {
      for (const [k, set] of this.open) {
        if (keep.has(k)) continue;
        for (const s of set) {
          const t = this.traffic.get(s);
          if (t && !t.lastUp) t.client.end();
          else s.destroy();
        }
      }
    };
    const idleMs = this.opts.idleCloseMs ?? 1000;
    const closeIdle = () => {
      const now = Date.now();
      for (const [k, set] of this.open) {
        if (keep.has(k)) continue;
        for (const s of set) {
          const t = this.traffic.get(s);
          // end(): a FIN after the last response; the client's close then ends the upstream side.
          if (t && !t.lastUp && now - t.at >= idleMs && !t.client.writableEnded) t.client.end();
        }
      }
    };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { cut(); done(); }, this.opts.drainMs);
      timer.unref();
      const idle = setInterval(closeIdle, Math.max(10, Math.min(100, idleMs / 4)));
      idle.unref();
      const check = () => { if (!draining()) done(); };
      function done() { clearTimeout(timer); clearInterval(idle); resolve(); }
      this.waiters.add(check);
      void Promise.resolve().then(check);
    }).finally(() => this.waiters.clear());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const set of this.open.values()) for (const s of set) s.destroy();
      this.server.close(() => resolve());
    });
  }

  private accept(client: net.Socket, attempt = 0): void {
    client.on('error', () => client.destroy());
    this.dial(client, attempt);
  }

  private dial(client: net.Socket, attempt: number): void {
    const list = this.targets;
    if (list.length === 0 || attempt >= list.length || client.destroyed) {
      client.destroy();
      return;
    }
    const target = list[this.next++ % list.length]!;
    const k = key(target);
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    let connected = false;
    upstream.setTimeout(this.opts.connectTimeoutMs ?? 3000, () => { if (!connected) upstream.destroy(new Error('connect timeout')); });
    const set = this.open.get(k) ?? new Set<net.Socket>();
    this.open.set(k, set);
    set.add(upstream);
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      // The connection counts as "answered" from the start: one that never sent a byte is idle too.
      const t = { client, lastUp: false, at: Date.now() };
      this.traffic.set(upstream, t);
      client.on('data', () => { t.lastUp = true; t.at = Date.now(); });
      upstream.on('data', () => { t.lastUp = false; t.at = Date.now(); });
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      // Refused before anything was sent: another target may still answer.
      if (!connected) this.dial(client, attempt + 1);
      else client.destroy();
    });
    upstream.on('close', () => {
      set.delete(upstream);
      this.traffic.delete(upstream);
      if (set.size === 0 && !this.targets.some((t) => key(t) === k)) this.open.delete(k);
      if (connected) client.destroy();
      for (const w of this.waiters) w();
    });
    client.on('close', () => { if (connected) upstream.destroy(); });
  }
}
