/**
 * The workers' side of stable endpoints. `route(tenant, app)` gives the app its endpoint
 * port (allocated once from HOIST_PROXY_PORTS, kept on the app row) and tells the proxy the
 * app's route changed (the caller has written apps.current_deployment_id and the deployment's
 * host ports first). It resolves once the proxy serves the new targets and connections to
 * the old ones drained, so the caller may stop the old replicas: directly when the proxy
 * runs in this process, else by NOTIFY and the proxy's ack. Without a live proxy (none said
 * `alive` lately) it does not wait: nobody is routing through the old replicas then.
 */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { DeployRepo } from '../../db/deploy-repo.ts';
import type { Logger } from '../../bot/core/types.ts';
import { CHANNELS, type Bus } from './bus.ts';
import type { EndpointProxy } from './proxy.ts';

export interface PortRange { lo: number; hi: number }

export interface Endpoints {
  /** Stable port of the app (allocating it on first use), after the proxy took the app's current route. */
  route(tenantId: string, app: string): Promise<number | undefined>;
  close(): Promise<void>;
}

/** "20000-20999" → { lo, hi }; "off" or empty → undefined. */
export function parsePortRange(v: string): PortRange | undefined {
  const s = v.trim().toLowerCase();
  if (!s || s === 'off') return undefined;
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(s);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo > hi) throw new Error(`"${v}" is not a port range like 20000-20999 (or off)`);
  return { lo, hi };
}

/** Can this process bind `port` on `host` right now? (A port some other program holds is skipped.) */
export function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function createEndpoints(o: {
  deploys: DeployRepo;
  range: PortRange;
  listenHost: string;
  local?: EndpointProxy;
  bus?: Bus;
  ackTimeoutMs: number;
  logger: Logger;
}): Promise<Endpoints> {
  let lastAlive = 0;
  const acks = new Map<string, () => void>();
  let unlisten: (() => Promise<void>) | undefined;
  if (!o.local && o.bus?.listen) {
    unlisten = await o.bus.listen(CHANNELS.proxy, (payload) => {
      lastAlive = Date.now();
      if (payload.startsWith('ack\n')) acks.get(payload.slice(4))?.();
    });
  }

  const tell = async (tenantId: string, app: string) => {
    if (o.local) return o.local.refresh(tenantId, app);
    if (!o.bus) return;
    const nonce = `${Date.now().toString(36)}.${randomInt(1 << 30).toString(36)}`;
    const proxyAlive = Date.now() - lastAlive < 15_000;
    const acked = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), proxyAlive ? o.ackTimeoutMs : 0);
      acks.set(nonce, () => { clearTimeout(timer); resolve(true); });
    });
    await o.bus.notify(CHANNELS.routes, `${nonce}\n${tenantId}\n${app}`);
    const ok = await acked;
    acks.delete(nonce);
    if (!ok && proxyAlive) o.logger.warn({ app, timeoutMs: o.ackTimeoutMs }, 'proxy.ack_timeout');
  };

  return {
    async route(tenantId, app) {
      // A random first candidate keeps installations that share a host (tests, staging) from
      // reaching for the same free port at the same moment.
      const start = o.range.lo + randomInt(o.range.hi - o.range.lo + 1);
      const port = await o.deploys.endpointPort(tenantId, app, o.range, (p) => bindable(o.listenHost, p), start);
      if (port === undefined) o.logger.error({ app, range: o.range }, 'proxy.no_free_port');
      await tell(tenantId, app);
      return port;
    },
    async close() {
      await unlisten?.().catch(() => undefined);
    },
  };
}
