/**
 * Which registry an image reference names, and whether a tenant allows it. Shared by the
 * bot (refusal at proposal time) and the workers (checked again before any pull).
 * Default: any local image, and the registries the admin allows. A reference without a
 * registry host (`web:1`, `team/web:1`) names a local image, or Docker's default registry
 * when pulled: running one already on the engine is always allowed, pulling it needs the
 * `default` entry. A reference naming a registry host is refused unless that host is allowed.
 * The allowlist is the installation's (HOIST_ALLOWED_REGISTRIES) plus the tenant's own
 * `registries` setting; entries are registry hosts (with port when there is one), `default`, or `*`.
 */
export const DEFAULT_REGISTRY = 'default';

/** The registry host of `ref`, or `default` when it names none. */
export function imageRegistry(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DEFAULT_REGISTRY;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first.toLowerCase() : DEFAULT_REGISTRY;
}

/** May `ref` be proposed at all? Explicit registries must be listed; hostless refs always may. */
export function registryAllowed(ref: string, allowlist: readonly string[]): boolean {
  const reg = imageRegistry(ref);
  if (reg === DEFAULT_REGISTRY) return true;
  return allowlist.some((a) => a === '*' || a.toLowerCase() === reg);
}

/** May the workers pull `ref` when it is not on the engine? */
export function pullAllowed(ref: string, allowlist: readonly string[]): boolean {
  const reg = imageRegistry(ref);
  return allowlist.some((a) => a === '*' || a.toLowerCase() === reg);
}

/** The effective allowlist: the installation's entries plus the tenant's `registries` setting. */
export function allowlistFrom(settings: unknown, installation: readonly string[] = []): string[] {
  const v = (settings as { registries?: unknown } | null | undefined)?.registries;
  const tenant = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return [...new Set([...installation, ...tenant].map((x) => x.toLowerCase()))];
}
