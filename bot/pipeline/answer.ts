/**
 * Read-only answers the bot can give from Postgres alone (apps, history, help, privacy)
 * and role changes. status and logs need the Docker engine and go to a worker instead.
 */
import type { Intent } from '../../workers/contract/index.ts';
import type { Store } from '../../db/repo.ts';
import { HoistError } from '../core/errors.ts';

export const HELP = [
  'Here is what I understand (no LLM needed):',
  '  deploy <app> [<tag> | image <ref>] [port <n>] [to <env>] [on <target>] [replicas <n>] [health <path>]   e.g. deploy web image hoist-demo/httpd:1 port 8080',
  '  rollback <app> [to <deployment-id>]      e.g. rollback web',
  '  restart <app> · stop <app> · start <app>',
  '  scale <app> to <n>                       e.g. scale web to 2',
  '  set <KEY>=<value> on <app> · unset <KEY> on <app>   (values are sealed, never shown)',
  '  status [<app>] · apps · history <app> · logs <app> [<n>]',
  '  privacy · privacy export · privacy forget me',
  '  grant @user <viewer|deployer|approver|admin> · revoke @user',
  'Changes show a card first; nothing happens until someone allowed approves it.',
].join('\n');

function ago(d: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 129600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export async function answerApps(store: Store, tenantId: string): Promise<string> {
  const apps = await store.listApps(tenantId);
  if (apps.length === 0) return 'No apps yet. Deploy one: deploy <app> image <ref> port <n>.';
  return ['Apps:', ...apps.map((a) =>
    `  ${a.name}  ${a.image}  ${a.desired === 'running' ? `${a.replicas} replica${a.replicas === 1 ? '' : 's'}` : 'stopped'}  env ${a.environment}${a.currentDeploymentId ? `  deployment ${a.currentDeploymentId}` : ''}`)].join('\n');
}

export async function answerHistory(store: Store, tenantId: string, app: string, now: Date): Promise<string> {
  const deps = await store.deploymentsOf(tenantId, app, 15);
  if (deps.length === 0) {
    const exists = await store.getApp(tenantId, app);
    if (!exists) {
      const all = (await store.listApps(tenantId)).map((a) => a.name);
      throw new HoistError('app_not_found', `No app named ${app}; apps: ${all.length ? all.join(', ') : 'none yet'}.`);
    }
    return `${app} has no deployments yet.`;
  }
  const current = (await store.getApp(tenantId, app))?.currentDeploymentId;
  return [`History of ${app} (newest first):`, ...deps.map((d) =>
    `  ${d.id}${d.id === current ? ' (current)' : ''}  ${d.kind}  ${d.image}  ×${d.replicas}  ${d.status}  ${ago(d.createdAt, now)}  by action ${d.actionId}${d.error ? `  — ${d.error.split('\n')[0]}` : ''}`)].join('\n');
}

export const PRIVACY_TEXT = [
  'What Hoist keeps about this workspace:',
  '  • apps, deployments and actions (who asked, who approved, what ran) — to show history and roll back;',
  '  • an append-only, hash-chained audit log of every step — so nothing can be quietly edited;',
  '  • env var values and secrets caught in chat only as AES-256-GCM ciphertext under this workspace\'s key;',
  '    caught chat secrets are destroyed when their action ends or expires;',
  '  • message text only after redaction (placeholders instead of secrets).',
  'Nothing is sent to a language model unless one is configured, and then only redacted text.',
].join('\n');

export async function answerRole(store: Store, tenantId: string, actor: string, intent: Intent): Promise<string> {
  const user = intent.user!;
  const platform = tenantId.split(':')[0];
  const userId = user.includes(':') ? user : `${platform}:${user}`;
  if (intent.action === 'grant') {
    await store.setRole(tenantId, userId, intent.role!, actor);
    return `${userId} is now ${intent.role}.`;
  }
  if (userId === actor) throw new HoistError('invalid_request', 'You cannot revoke your own role; ask another admin.');
  const removed = await store.removeRole(tenantId, userId);
  return removed ? `${userId} no longer has a role.` : `${userId} had no role to revoke.`;
}
