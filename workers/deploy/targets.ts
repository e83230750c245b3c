/**
 * Named deploy targets besides the default engine, from HOIST_TARGETS: `swarm` registers
 * the target `swarm`; `<environment>=swarm` (e.g. `production=swarm`) also makes every app
 * of that environment deploy there. `swarm` deploys apps as Swarm services on the same
 * engine (which must be a Swarm manager). An app's own `target` setting wins; an unknown
 * target name in it is refused when the app deploys.
 */
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/index.ts';
import type { Targets } from './actions.ts';
import { SwarmDeployer } from './swarm-deployer.ts';

export function createTargets(docker: Dockerode, names: readonly string[], opts: { publishAddress?: string }): Targets {
  const out: Targets = {};
  let swarm: SwarmDeployer | undefined;
  for (const entry of names) {
    const [alias, kind] = entry.includes('=') ? entry.split('=', 2) as [string, string] : [entry, entry];
    if (kind !== 'swarm') throw new HoistError('config_invalid', `HOIST_TARGETS: unknown target "${kind}" in "${entry}" (known: swarm).`);
    swarm ??= new SwarmDeployer(docker, { publishAddress: opts.publishAddress });
    out[alias] = swarm;
    out.swarm = swarm;
  }
  return out;
}
