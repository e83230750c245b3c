/**
 * Stage 4: confirm. Resolves a mutating intent against the tenant's own apps into the
 * exact action (image, port, replicas, environment, target deployment), stores it as a
 * pending action with a 15-minute expiry, seals any caught secrets to it, and builds
 * the card. Nothing runs until a conditional UPDATE approves the row.
 */
import { randomBytes } from 'node:crypto';
import { allowlistFrom, displaySource, effectiveTarget, imageRegistry, registryAllowed, sourceProblem, unknownTarget, type Intent } from '../../workers/contract/index.ts';
import type { ActionRow, AppRow, Store } from '../../db/repo.ts';
import { HoistError } from '../core/errors.ts';
import type { CardView } from '../core/types.ts';

export const PENDING_TTL_MS = 15 * 60 * 1000;

/** Short, typeable, unguessable: act-<10 base32 chars>. */
export function newActionId(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return `act-${[...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

export interface ResolvedAction {
  app: string;
  image?: string;
  port?: number;
  replicas?: number;
  environment: string;
  key?: string;
  valuePlaceholder?: string;
  deployment?: string;
  /** Git source to build from (deploy from <url>[#ref]); the image is built by the workers. */
  source?: string;
  ref?: string;
  /** HTTP path the rollout's health gate GETs; kept as the app's setting for later deploys. */
  healthPath?: string;
  /** Deploy target chosen in this request (`deploy … on <target>`); the workers keep it as the app's setting. */
  target?: string;
  /** Where the app runs (shown on the card), when the bot can tell. */
  runsOn?: string;
}

async function requireApp(store: Store, tenantId: string, name: string): Promise<AppRow> {
  const app = await store.getApp(tenantId, name);
  if (app) return app;
  const all = (await store.listApps(tenantId)).map((a) => a.name);
  throw new HoistError('app_not_found', `No app named ${name}; apps: ${all.length ? all.join(', ') : 'none yet (deploy one: deploy <app> image <ref> port <n>)'}.`);
}

/**
 * `allowedRegistries`: the installation's registry allowlist (HOIST_ALLOWED_REGISTRIES).
 * `targets`: the deploy target names HOIST_TARGETS defines (targetNames); without it an unknown
 * target is refused by the workers instead, and the card names only an explicit target.
 */
export async function resolveAction(store: Store, tenantId: string, intent: Intent, opts: { allowedRegistries?: readonly string[]; targets?: readonly string[] } = {}): Promise<ResolvedAction> {
  const name = intent.app!;
  if (intent.target && intent.target !== 'default' && opts.targets && !opts.targets.includes(intent.target)) {
    throw unknownTarget(intent.target, opts.targets);
  }
  const where = (app: AppRow | undefined, environment: string) => {
    const runsOn = effectiveTarget({ requested: intent.target, setting: (app?.settings as { target?: string } | undefined)?.target, environment, known: opts.targets });
    return { ...(intent.target ? { target: intent.target } : {}), ...(runsOn ? { runsOn } : {}) };
  };
  if (intent.action === 'deploy') {
    // The allowlist is read beside the app (one round trip of latency, not two); unused for git sources.
    const settings = store.tenantSettings(tenantId);
    settings.catch(() => undefined);
    const existing = await store.getApp(tenantId, name);
    // A bare "deploy <app>" of an app built from git rebuilds its source (at its ref).
    const kept = (existing?.settings ?? {}) as { source?: string; ref?: string };
    const source = intent.source ?? (intent.image ? undefined : kept.source);
    if (source) {
      const ref = intent.source ? intent.ref : (intent.ref ?? kept.ref);
      const problem = sourceProblem(source, ref);
      if (problem) throw new HoistError('invalid_request', problem);
      const environment = intent.environment ?? existing?.environment ?? 'default';
      return {
        app: name, source, ...(ref ? { ref } : {}), ...(intent.healthPath ? { healthPath: intent.healthPath } : {}), port: intent.port ?? existing?.port ?? undefined,
        replicas: intent.replicas ?? existing?.replicas ?? 1,
        environment, ...where(existing, environment),
      };
    }
    let image = intent.image;
    if (image?.startsWith(':')) {
      if (!existing) throw new HoistError('app_not_found', `No app named ${name} to take a tag from; create it with: deploy ${name} image <ref>${image}.`);
      image = `${existing.image.replace(/(@sha256:[a-f0-9]+|:[^:/]+)$/, '')}${image}`;
    }
    image ??= existing?.image;
    if (!image) throw new HoistError('app_not_found', `No app named ${name} yet; to create it say: deploy ${name} image <ref> [port <n>].`);
    if (!registryAllowed(image, allowlistFrom(await settings, opts.allowedRegistries))) {
      throw new HoistError('forbidden', `Images from ${imageRegistry(image)} are not allowed in this workspace; an admin can add that registry to the allowlist. Nothing was proposed.`);
    }
    const environment = intent.environment ?? existing?.environment ?? 'default';
    return {
      app: name, image, ...(intent.healthPath ? { healthPath: intent.healthPath } : {}), port: intent.port ?? existing?.port ?? undefined,
      replicas: intent.replicas ?? existing?.replicas ?? 1,
      environment, ...where(existing, environment),
    };
  }
  const app = await requireApp(store, tenantId, name);
  const base = { app: name, environment: app.environment, ...where(app, app.environment) };
  switch (intent.action) {
    case 'rollback': {
      const deps = (await store.deploymentsOf(tenantId, name, 50)).filter((d) => d.status === 'succeeded');
      const target = intent.deployment
        ? deps.find((d) => d.id === intent.deployment)
        : deps.find((d) => d.id !== app.currentDeploymentId);
      if (!target) {
        throw new HoistError('no_previous_deployment', intent.deployment
          ? `${name} has no successful deployment ${intent.deployment}; see: history ${name}.`
          : `${name} has no earlier good deployment to roll back to.`);
      }
      return { ...base, deployment: target.id, image: target.image, port: target.port ?? undefined, replicas: target.replicas };
    }
    case 'scale':
      return { ...base, image: app.image, port: app.port ?? undefined, replicas: intent.replicas };
    case 'set_env':
    case 'unset_env':
      return { ...base, key: intent.key, valuePlaceholder: intent.value };
    default:
      return base;
  }
}

const VERB: Record<string, string> = {
  deploy: 'Deploy', rollback: 'Roll back', restart: 'Restart', stop: 'Stop', start: 'Start',
  scale: 'Scale', set_env: 'Set env var on', unset_env: 'Unset env var on',
};

export function cardFor(action: Pick<ActionRow, 'id' | 'kind' | 'requestedBy' | 'expiresAt'>, r: ResolvedAction): CardView {
  const details: string[] = [];
  if (r.image) details.push(`image: ${r.image}`);
  if (r.source) details.push(`source: ${displaySource(r.source)}${r.ref ? ` at ${r.ref}` : ' (default branch)'} (built by Hoist)`);
  if (r.port !== undefined) details.push(`port: ${r.port} (served on the app's stable host port)`);
  if (r.replicas !== undefined) details.push(`replicas: ${r.replicas}`);
  if (r.healthPath) details.push(`health check: GET ${r.healthPath} must answer 2xx/3xx`);
  if (r.deployment) details.push(`to deployment: ${r.deployment}`);
  if (r.key) details.push(`env var: ${r.key}${action.kind === 'set_env' ? ' (value sealed, not shown)' : ''}`);
  details.push(`environment: ${r.environment}`);
  if (r.runsOn ?? r.target) details.push(`target: ${r.runsOn ?? r.target}${r.target ? ' (kept for later deploys)' : ''}`);
  return {
    actionId: action.id,
    title: `${VERB[action.kind] ?? action.kind} ${r.app}`,
    details,
    requestedBy: action.requestedBy,
    expiresAt: action.expiresAt,
    fourEyes: r.environment === 'production',
  };
}
