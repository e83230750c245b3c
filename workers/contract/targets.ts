/**
 * Deploy target names as both processes see them. HOIST_TARGETS entries are `swarm`,
 * `<name>=swarm` or `<name>=<docker host>`; `default` always names the default engine. The
 * bot refuses an unknown name at proposal time, the workers again when the app deploys.
 */
import { HoistError } from './errors.ts';

/** The target names HOIST_TARGETS entries define (without `default`). */
export function targetNames(entries: readonly string[]): string[] {
  const names = new Set<string>();
  for (const e of entries) {
    const [alias, kind] = e.includes('=') ? e.split(/=(.*)/s, 2) as [string, string] : [e, e];
    names.add(alias);
    if (kind === 'swarm') names.add('swarm');
  }
  return [...names];
}

/** A deploy target name nobody configured: the sentence lists the ones that exist. */
export function unknownTarget(name: string, known: readonly string[]): HoistError {
  const names = ['default', ...known.filter((k) => k !== 'default')];
  return new HoistError('unknown_target', `There is no deploy target "${name}"; known targets: ${names.join(', ')} (HOIST_TARGETS).`);
}

/**
 * The target an app runs on: the one named in the request, else its own `target` setting,
 * else the target named like its environment, else the default engine. Undefined when that
 * depends on targets the caller does not know.
 */
export function effectiveTarget(o: { requested?: string; setting?: string; environment?: string; known?: readonly string[] }): string | undefined {
  const t = o.requested ?? o.setting;
  if (t) return t === 'docker' ? 'default' : t;
  if (!o.known) return undefined;
  return o.environment && o.known.includes(o.environment) ? o.environment : 'default';
}
