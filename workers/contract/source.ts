/**
 * Git sources an app can deploy from (`deploy <app> from <url>[#ref]`), shared by the bot
 * (the card, refusal at proposal time) and the workers (the build). Credentials in a URL
 * are never shown or stored: `displaySource` strips them.
 */
export const GIT_SOURCE = /^(?:https:\/\/\S+|ssh:\/\/\S+|file:\/\/\/\S*|[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:\S+)$/;
export const GIT_REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;

/** The URL without credentials (https://user:token@host/… → https://host/…). */
export function displaySource(source: string): string {
  return source.replace(/^(https?:\/\/|ssh:\/\/)[^@/]*@/, '$1');
}

/** Why `source#ref` cannot be built, or undefined when it can. */
export function sourceProblem(source: string, ref?: string): string | undefined {
  if (!GIT_SOURCE.test(source) || source.startsWith('-')) {
    return `"${displaySource(source)}" is not a git URL Hoist builds from (https://, ssh://, user@host:path or file://).`;
  }
  if (ref !== undefined && (!GIT_REF.test(ref) || ref.includes('..'))) return `"${ref}" is not a valid branch, tag or commit.`;
  return undefined;
}
