/**
 * One app's stable endpoint: a TCP listener that spreads connections round-robin over the
 * current deployment's replicas. Contract: `setTargets` swaps the target list at once (new
 * connections go only to the new targets from that moment) and resolves when every
 * connection still open to a target that left the list has closed, or after `drainMs`;
 * only then may the caller stop the old replicas. A connection whose target refuses is
 * retried on the next target before the client notices; with no target left it is closed.
 * Bytes are piped, never parsed: any TCP protocol works.
 */
import net from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface AppProxyOptions {
  drainMs: number;
  connectTimeoutMs?: number;
  onError?: (err: Error) => void;
}

const key = (t: ProxyTarget) => `${t.host}:${t.port}`;

export class AppProxy {
  private targets: ProxyTarget[] = [];
  private next = 0;
  /** Open upstream connections per target key. */
  private readonly open = new Map<string, Set<net.Socket>>();
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
    // What is still open after the bound (idle kept-alive connections, mostly) is closed here,
    // by the proxy, rather than by the old replica's shutdown a moment later.
    const cut = () => {
      for (const [k, set] of this.open) if (!keep.has(k)) for (const s of set) s.destroy();
    };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { cut(); done(); }, this.opts.drainMs);
      timer.unref();
      const check = () => { if (!draining()) done(); };
      function done() { clearTimeout(timer); resolve(); }
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
      if (set.size === 0 && !this.targets.some((t) => key(t) === k)) this.open.delete(k);
      if (connected) client.destroy();
      for (const w of this.waiters) w();
    });
    client.on('close', () => { if (connected) upstream.destroy(); });
  }
}
