/**
 * The bot's one HTTP server. Routes: `GET /healthz` (200 while the process lives),
 * `GET /readyz` (200 when every check passes, else 503 naming the failing ones — never
 * a URL or a credential), `GET /metrics` (prom-client default registry) and any mounted
 * handler (Slack's receiver on `POST /slack/events`). Everything else is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, register } from 'prom-client';
import type { Logger } from '../core/types.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpServerOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Named readiness checks; each rejects when its dependency is unusable. */
  checks: Record<string, () => Promise<unknown>>;
  /** Exact path → handler (any method); e.g. `/slack/events`. */
  mounts?: Record<string, Handler>;
}

export interface HttpServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Counters on the default registry; idempotent, since tests start several bots per process. */
export function hoistMetrics() {
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames });
  return {
    requests: counter('hoist_requests_total', 'Chat requests received, by platform and command verb', ['platform', 'command']),
    decisions: counter('hoist_approvals_total', 'Approve/Cancel clicks, by platform and decision', ['platform', 'decision']),
    rateLimited: counter('hoist_chat_rate_limited_total', 'Chat API calls that were rate limited and retried', ['platform']),
  };
}

async function readiness(checks: HttpServerOptions['checks']): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(Object.entries(checks).map(async ([name, check]) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([check(), new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), CHECK_TIMEOUT_MS); })]);
    } catch (e) {
      failed.push(`${name}: ${e instanceof Error && e.message === 'timeout' ? 'timed out' : 'unreachable'}`);
    } finally {
      clearTimeout(timer);
    }
  }));
  return failed.sort();
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const log = o.logger.child({ op: 'http' });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const mounted = o.mounts?.[path];
    if (mounted) return mounted(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, path in { '/healthz': 1, '/readyz': 1, '/metrics': 1 } ? 405 : 404, 'not found\n');
    switch (path) {
      case '/healthz': return send(res, 200, 'ok\n');
      case '/readyz':
        void readiness(o.checks).then((failed) => send(res, failed.length ? 503 : 200, failed.length ? `not ready: ${failed.join('; ')}\n` : 'ready\n'));
        return;
      case '/metrics':
        void register.metrics().then((m) => send(res, 200, m, register.contentType), (e: unknown) => {
          log.error({ err: String(e) }, 'metrics.failed');
          send(res, 500, 'metrics failed\n');
        });
        return;
      default: return send(res, 404, 'not found\n');
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'http.listening');
  return {
    server, port, url: `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
