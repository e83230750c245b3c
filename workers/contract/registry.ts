/**
 * Which registry an image reference names, and whether a tenant allows it. Shared by the
 * bot (refusal at proposal time) and the workers (checked again before any pull).
 * A reference without a registry host (`web:1`, `team/web:1`) names a local image, or
 * Docker's default registry when pulled: it is always allowed to *run* one that is already
 * on the engine, and pulling it needs the `default` entry in the tenant's allowlist.
 * Allowlist entries are registry hosts (with port when there is one), `default`, or `*`.
 * A tenant without a `registries` setting has no policy (everything allowed, as before the
 * allowlist existed); setting one, even `[]`, turns it on.
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
export function registryAllowed(ref: string, allowlist: readonly string[] | undefined): boolean {
  if (!allowlist) return true;
  const reg = imageRegistry(ref);
  if (reg === DEFAULT_REGISTRY) return true;
  return allowlist.some((a) => a === '*' || a.toLowerCase() === reg);
}

/** May the workers pull `ref` when it is not on the engine? */
export function pullAllowed(ref: string, allowlist: readonly string[] | undefined): boolean {
  if (!allowlist) return true;
  const reg = imageRegistry(ref);
  return allowlist.some((a) => a === '*' || a.toLowerCase() === reg);
}

/** The tenant's allowlist from tenants.settings, or undefined when it has none. */
export function allowlistFrom(settings: unknown): string[] | undefined {
  const v = (settings as { registries?: unknown } | null | undefined)?.registries;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}
