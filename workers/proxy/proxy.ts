/**
 * The endpoint proxy: one AppProxy (tcp-proxy.ts) per app that has a stable endpoint port.
 * The routing table lives in Postgres (apps.endpoint_port, apps.current_deployment_id →
 * deployments.host_ports, apps.desired), so a restarted proxy serves the same ports at once.
 * It loads the table at start, reloads when told (`refresh` in-process, NOTIFY hoist_routes
 * from other processes, then an ack once old connections drained) and every `pollMs` as a
 * safety net. A stopped app keeps its port but has no targets: connections are closed.
 * Runs inside `hoist start` (workers/main.ts) or alone as `hoist proxy`.
 */
import type { Logger } from '../../bot/core/types.ts';
import { CHANNELS, type Bus } from './bus.ts';
import { AppProxy, type ProxyTarget } from './tcp-proxy.ts';

export interface RouteRow {
  tenantId: string;
  app: string;
  endpointPort: number;
  desired: string;
  deploymentId: string | null;
  hostPorts: unknown;
  config: unknown;
}

export interface RouteSource {
  routes(): Promise<RouteRow[]>;
  /** One app's row (absent: it has no endpoint any more); the switch path reloads only that. */
  route?(tenantId: string, app: string): Promise<RouteRow | undefined>;
}

export interface ProxyOptions {
  routes: RouteSource;
  bus?: Bus;
  /** Address the endpoint ports are bound on (HOIST_PUBLISH_ADDRESS). */
  listenHost: string;
  /** Where replica host ports are reached when a deployment names no replicaHost. */
  targetHost: string;
  drainMs: number;
  pollMs?: number;
  aliveMs?: number;
  logger: Logger;
}

export interface EndpointProxy {
  /** Reloads the table; with an app, resolves once that app's old connections drained. */
  refresh(tenantId?: string, app?: string): Promise<void>;
  endpoints(): Array<{ tenantId: string; app: string; port: number; targets: ProxyTarget[] }>;
  close(): Promise<void>;
}

interface Entry { tenantId: string; app: string; proxy: AppProxy; drain: Promise<void> }

const keyOf = (tenantId: string, app: string) => `${tenantId}\0${app}`;
const same = (a: ProxyTarget[], b: ProxyTarget[]) => a.length === b.length && a.every((t, i) => t.host === b[i]!.host && t.port === b[i]!.port);

function targetsOf(r: RouteRow, fallbackHost: string): ProxyTarget[] {
  if (r.desired !== 'running' || !r.deploymentId || !Array.isArray(r.hostPorts)) return [];
  const host = (r.config as { replicaHost?: unknown } | null)?.replicaHost;
  return r.hostPorts
    .filter((p): p is number => typeof p === 'number' && p > 0)
    .map((port) => ({ host: typeof host === 'string' && host ? host : fallbackHost, port }));
}

export async function startProxy(o: ProxyOptions): Promise<EndpointProxy> {
  const entries = new Map<string, Entry>();
  const failedPorts = new Set<number>();
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** Serves `r`, listening on its port first when it is new (a port that cannot be bound is tried again by the next poll). */
  const apply = async (r: RouteRow) => {
    const k = keyOf(r.tenantId, r.app);
    let e = entries.get(k);
    if (e && e.proxy.port !== r.endpointPort) {
      await e.proxy.close();
      entries.delete(k);
      e = undefined;
    }
    if (!e) {
      const proxy = new AppProxy(o.listenHost, r.endpointPort, {
        drainMs: o.drainMs,
        onError: (err) => o.logger.warn({ app: r.app, port: r.endpointPort, err: err.message }, 'proxy.error'),
      });
      try {
        await proxy.listen();
        failedPorts.delete(r.endpointPort);
      } catch (err) {
        // Logged once per port; the next poll tries again.
        if (!failedPorts.has(r.endpointPort)) o.logger.error({ app: r.app, port: r.endpointPort, err: String(err) }, 'proxy.listen_failed');
        failedPorts.add(r.endpointPort);
        return;
      }
      e = { tenantId: r.tenantId, app: r.app, proxy, drain: Promise.resolve() };
      entries.set(k, e);
      o.logger.info({ app: r.app, port: r.endpointPort }, 'proxy.listening');
    }
    const targets = targetsOf(r, o.targetHost);
    if (!same(e.proxy.current(), targets)) {
      o.logger.info({ app: r.app, port: r.endpointPort, deployment: r.deploymentId, targets: targets.map((t) => t.port) }, 'proxy.switch');
      e.drain = e.proxy.setTargets(targets);
    }
  };

  const load = async (one?: { tenantId: string; app: string }) => {
    if (closed) return;
    if (one && o.routes.route) {
      const r = await o.routes.route(one.tenantId, one.app);
      if (r) return apply(r);
      const k = keyOf(one.tenantId, one.app);
      await entries.get(k)?.proxy.close();
      entries.delete(k);
      return;
    }
    const rows = await o.routes.routes();
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(keyOf(r.tenantId, r.app));
      await apply(r);
    }
    for (const [k, e] of entries) {
      if (seen.has(k)) continue;
      entries.delete(k);
      await e.proxy.close();
    }
  };

  const refresh = async (tenantId?: string, app?: string) => {
    const run = chain.then(() => load(tenantId && app ? { tenantId, app } : undefined));
    chain = run.catch((err: unknown) => o.logger.warn({ err: String(err) }, 'proxy.reload_failed'));
    await run;
    if (tenantId && app) await entries.get(keyOf(tenantId, app))?.drain;
  };

  await refresh();
  const poll = setInterval(() => { refresh().catch(() => undefined); }, o.pollMs ?? 2_000);
  poll.unref();

  let unlisten: (() => Promise<void>) | undefined;
  let alive: NodeJS.Timeout | undefined;
  if (o.bus?.listen) {
    const bus = o.bus;
    unlisten = await o.bus.listen(CHANNELS.routes, (payload) => {
      const [nonce, tenantId, app] = payload.split('\n');
      refresh(tenantId, app)
        .then(() => bus.notify(CHANNELS.proxy, `ack\n${nonce}`))
        .catch((err: unknown) => o.logger.warn({ err: String(err) }, 'proxy.ack_failed'));
    });
    const sayAlive = () => { bus.notify(CHANNELS.proxy, 'alive').catch(() => undefined); };
    sayAlive();
    alive = setInterval(sayAlive, o.aliveMs ?? 5_000);
    alive.unref();
  }

  return {
    refresh,
    endpoints: () => [...entries.values()].map((e) => ({ tenantId: e.tenantId, app: e.app, port: e.proxy.port, targets: e.proxy.current() })),
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(alive);
      await unlisten?.().catch(() => undefined);
      await chain;
      await Promise.all([...entries.values()].map((e) => e.proxy.close()));
      entries.clear();
    },
  };
}

/** Where replica ports published on `publishAddress` are reached from this host. */
export function targetHostFor(publishAddress: string): string {
  if (publishAddress === '0.0.0.0' || publishAddress === '') return '127.0.0.1';
  return publishAddress === '::' ? '::1' : publishAddress;
}
