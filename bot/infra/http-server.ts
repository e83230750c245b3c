/**
 * The bot's one HTTP server. Routes: `GET /healthz` (200 while the process lives),
 * `GET /readyz` (200 when every check passes, else 503 naming the failing ones — never
 * a URL or a credential), `GET /metrics` (prom-client default registry) and any mounted
 * handler (Slack's receiver on `POST /slack/events`). Everything else is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';
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
  /** Shutdown has begun: /readyz answers 503 from now on (load balancers stop sending work). */
  drain(): void;
  readonly draining: boolean;
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
    deploys: counter('hoist_deploys_total', 'Actions run by the workers, by kind and outcome (succeeded, failed)', ['kind', 'outcome']),
    rolloutSeconds: (register.getSingleMetric('hoist_rollout_duration_seconds') as Histogram<'kind' | 'outcome'> | undefined)
      ?? new Histogram({ name: 'hoist_rollout_duration_seconds', help: 'Start to finish of a changing action on a worker', labelNames: ['kind', 'outcome'], buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600] }),
    llmCalls: counter('hoist_llm_calls_total', 'LLM intent-parsing calls, by outcome', ['outcome']),
    llmTokens: counter('hoist_llm_tokens_total', 'LLM tokens, by direction (input, output)', ['direction']),
    redactionFindings: counter('hoist_redaction_findings_total', 'Secrets replaced by placeholders in chat messages, by kind', ['kind']),
    rateLimitRefusals: counter('hoist_rate_limit_refusals_total', 'Chat requests refused by Hoist\'s own rate limits, by scope (user, tenant)', ['scope']),
    /** Set by the process that owns the queue (collect runs on each scrape). */
    queueDepth: (register.getSingleMetric('hoist_queue_depth') as Gauge<'queue' | 'state'> | undefined)
      ?? new Gauge({ name: 'hoist_queue_depth', help: 'Jobs in a BullMQ queue, by state', labelNames: ['queue', 'state'] }),
    outboxPending: (register.getSingleMetric('hoist_outbox_unpublished') as Gauge | undefined)
      ?? new Gauge({ name: 'hoist_outbox_unpublished', help: 'Approved actions not yet published to the queue' }),
  };
}

export type HoistMetrics = ReturnType<typeof hoistMetrics>;

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
  let draining = false;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const mounted = o.mounts?.[path];
    if (mounted) return mounted(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, path in { '/healthz': 1, '/readyz': 1, '/metrics': 1 } ? 405 : 404, 'not found\n');
    switch (path) {
      case '/healthz': return send(res, 200, 'ok\n');
      case '/readyz':
        if (draining) return send(res, 503, 'not ready: shutting down\n');
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
    drain: () => { draining = true; },
    get draining() { return draining; },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
