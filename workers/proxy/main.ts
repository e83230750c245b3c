/**
 * Composition root of `hoist proxy`: the endpoint proxy alone, for production where bot and
 * workers run as separate processes (`hoist start` runs it inside workers/main.ts instead).
 * Needs PostgreSQL only: the routing table is there, and workers tell it of changes by NOTIFY.
 */
import type { Config } from '../../bot/config.ts';
import type { Logger } from '../../bot/core/types.ts';
import type { DbHandle } from '../../db/client.ts';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { busFor } from './bus.ts';
import { startProxy, targetHostFor, type EndpointProxy } from './proxy.ts';

export async function startProxyProcess(o: { config: Config; dbh: DbHandle; logger: Logger }): Promise<EndpointProxy> {
  const proxy = await startProxy({
    routes: new DeployRepo(o.dbh.db),
    bus: busFor(o.dbh.db),
    listenHost: o.config.HOIST_PUBLISH_ADDRESS,
    targetHost: targetHostFor(o.config.HOIST_PUBLISH_ADDRESS),
    drainMs: o.config.HOIST_PROXY_DRAIN_MS,
    logger: o.logger,
  });
  o.logger.info({ endpoints: proxy.endpoints().length }, 'proxy.started');
  return proxy;
}
