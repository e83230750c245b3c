/**
 * Stage 3½: authorize. Roles are ordered viewer < deployer < approver < admin; each
 * action needs a minimum role. Approval: approvers and admins may approve anyone's
 * request; a deployer may approve their own non-production request; production needs an
 * approver other than the requester (four-eyes).
 */
import type { Intent, IntentAction, Role } from '../../workers/contract/index.ts';
import { HoistError } from '../core/errors.ts';

const RANK: Record<Role, number> = { viewer: 0, deployer: 1, approver: 2, admin: 3 };

export function needs(intent: Intent): Role {
  const a: IntentAction = intent.action;
  switch (a) {
    case 'status': case 'apps': case 'history': case 'logs': case 'help': case 'unknown':
      return 'viewer';
    case 'privacy':
      return intent.request === 'export' ? 'admin' : 'viewer';
    case 'deploy': case 'rollback': case 'restart': case 'stop': case 'start': case 'scale': case 'set_env': case 'unset_env':
      return 'deployer';
    case 'grant': case 'revoke':
      return 'admin';
    default: {
      const never: never = a;
      return never;
    }
  }
}

export function atLeast(role: Role | undefined, min: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[min];
}

/** Anyone in the workspace may ask for help and exercise their own data rights, role or not. */
function open(intent: Intent): boolean {
  return intent.action === 'help' || (intent.action === 'privacy' && intent.request !== 'export');
}

export function authorize(role: Role | undefined, intent: Intent): void {
  if (open(intent)) return;
  const min = needs(intent);
  if (!atLeast(role, min)) {
    throw new HoistError('forbidden', `You need the ${min} role for ${intent.action.replace('_', ' ')}${role ? ` (you are ${role})` : ''}; ask an admin: grant @you ${min}.`);
  }
}

export function authorizeApproval(opts: { role: Role | undefined; userId: string; requestedBy: string; production: boolean }): void {
  const own = opts.userId === opts.requestedBy;
  if (opts.production && own) {
    throw new HoistError('same_person_approval', 'Production changes need an approver other than the requester.');
  }
  if (atLeast(opts.role, 'approver')) return;
  if (own && atLeast(opts.role, 'deployer')) return;
  throw new HoistError('forbidden', 'You are not allowed to approve this: it needs the approver role.');
}
