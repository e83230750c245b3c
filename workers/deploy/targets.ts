/**
 * Named deploy targets besides the default engine, from HOIST_TARGETS (comma-separated):
 * - `swarm` registers the target `swarm`; `<environment>=swarm` (e.g. `production=swarm`)
 *   also makes every app of that environment deploy there. Swarm runs on the default engine,
 *   which must be a Swarm manager.
 * - `<name>=<docker host>` is another Docker engine: `unix:///path`, `tcp://host:2375`, or
 *   TLS with `tcp://host:2376?certs=<dir>` (ca.pem, cert.pem, key.pem, as DOCKER_CERT_PATH).
 *   Its containers carry `hoist.target=<name>`; for a tcp engine the proxy reaches replica
 *   ports on that host (publish them on an address it can reach).
 * An app deploys to its own `target` setting, else the target named like its environment,
 * else the default engine; an unknown target name is refused when the app deploys.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { HoistError, TARGET_NAME } from '../contract/index.ts';
import type { Targets } from './actions.ts';
import type { Checkpoint } from './checkpoint.ts';
import { DockerDeployer } from './docker-deployer.ts';
import { dockerOptionsFor } from './docker-support.ts';
import { SwarmDeployer } from './swarm-deployer.ts';

/** Client options of a target's docker host, with TLS material read from `?certs=<dir>`. */
export function targetDockerOptions(host: string): { options: Dockerode.DockerOptions; remoteHost?: string } {
  const [base, query] = host.split('?', 2) as [string, string | undefined];
  const certs = query ? new URLSearchParams(query).get('certs') : null;
  const options = dockerOptionsFor(certs ? base.replace(/^tcp:\/\//, 'https://') : base);
  if (certs) {
    try {
      Object.assign(options, {
        protocol: 'https',
        ca: readFileSync(join(certs, 'ca.pem')),
        cert: readFileSync(join(certs, 'cert.pem')),
        key: readFileSync(join(certs, 'key.pem')),
      });
    } catch (e) {
      throw new HoistError('config_invalid', `HOIST_TARGETS: cannot read ca.pem, cert.pem and key.pem in ${certs}: ${(e as Error).message}`);
    }
  }
  return { options, ...(options.host ? { remoteHost: options.host } : {}) };
}

export function createTargets(
  docker: Dockerode,
  names: readonly string[],
  opts: { publishAddress?: string; checkpoint?: Checkpoint },
): Targets {
  const out: Targets = {};
  let swarm: SwarmDeployer | undefined;
  for (const entry of names) {
    const [alias, kind] = entry.includes('=') ? entry.split(/=(.*)/s, 2) as [string, string] : [entry, entry];
    if (!TARGET_NAME.test(alias)) throw new HoistError('config_invalid', `HOIST_TARGETS: "${alias}" is not a target name (lowercase letters, digits, dashes).`);
    if (alias === 'default' || alias === 'docker') throw new HoistError('config_invalid', `HOIST_TARGETS: "${alias}" already names the default engine (DOCKER_HOST); choose another name.`);
    if (kind === 'swarm') {
      swarm ??= new SwarmDeployer(docker, { publishAddress: opts.publishAddress });
      out[alias] = swarm;
      out.swarm = swarm;
    } else if (/^(unix|tcp|https?):\/\//.test(kind) || kind.startsWith('/')) {
      const { options, remoteHost } = targetDockerOptions(kind);
      out[alias] = new DockerDeployer(new Dockerode(options), {
        publishAddress: opts.publishAddress,
        dockerHostLabel: `${kind.split('?')[0]} (target ${alias})`,
        targetName: alias,
        ...(remoteHost ? { replicaHost: remoteHost } : {}),
        ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
      });
    } else {
      throw new HoistError('config_invalid', `HOIST_TARGETS: unknown target "${kind}" in "${entry}" (known: swarm, or a docker host such as tcp://host:2376).`);
    }
  }
  return out;
}
