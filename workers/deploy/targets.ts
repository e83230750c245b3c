/**
 * Named deploy targets besides the default engine, from HOIST_TARGETS. `swarm` deploys
 * apps as Swarm services on the same engine (which must be a Swarm manager). An app picks
 * a target with its `target` setting; unknown names are refused when the app deploys.
 */
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/index.ts';
import type { Targets } from './actions.ts';
import { SwarmDeployer } from './swarm-deployer.ts';

export function createTargets(docker: Dockerode, names: readonly string[], opts: { publishAddress?: string }): Targets {
  const out: Targets = {};
  for (const name of names) {
    if (name === 'swarm') out.swarm = new SwarmDeployer(docker, { publishAddress: opts.publishAddress });
    else throw new HoistError('config_invalid', `HOIST_TARGETS: unknown target "${name}" (known: swarm).`);
  }
  return out;
}
