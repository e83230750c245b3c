/**
 * Stage 5: enqueue. Only an ApprovedAction (a row whose approval UPDATE this process won,
 * or a read-only action created approved) can be enqueued. The row is already approved in
 * Postgres; if Redis is down the outbox reconciler re-enqueues it later.
 */
import type { ActionRow } from '../../db/repo.ts';
import type { ActionQueue } from '../core/ports.ts';
import type { ApprovedAction } from '../core/types.ts';

export function asApproved(row: Pick<ActionRow, 'id' | 'tenantId' | 'status' | 'kind'>): ApprovedAction {
  if (row.status !== 'approved') throw new Error(`action ${row.id} is ${row.status}, not approved`);
  return { id: row.id, tenantId: row.tenantId, kind: row.kind } as ApprovedAction;
}

export async function enqueue(queue: ActionQueue, action: ApprovedAction): Promise<void> {
  await queue.enqueue(action.id, action.tenantId, action.kind);
}
