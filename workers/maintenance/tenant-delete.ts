/**
 * `hoist tenant delete`: erase a tenant everywhere Hoist keeps something of it, then print
 * a receipt. Order: containers and the tenant network (Deployer.remove: only objects
 * labelled hoist.tenant=<id>), Redis (BullMQ jobs whose data names the tenant, in every
 * state, and any key containing the tenant id), Postgres (every table with a tenant_id,
 * data keys first: crypto-shredding, db/privacy/erase.ts). The deletion itself is recorded
 * in the operator chain (`hoist:system`), which holds no row of the tenant. Idempotent.
 */
import { Queue, type JobType } from 'bullmq';
import { createPseudonym, WORKSPACE } from '../contract/pseudonym.ts';
import type { Redis } from 'ioredis';
import type { Db } from '../../db/client.ts';
import { appendAudit } from '../../db/audit.ts';
import type { Sealer } from '../../db/crypto.ts';
import { eraseTenantRows } from '../../db/privacy/erase.ts';
import { tenants } from '../../db/schema/index.ts';
import type { Clock } from '../../bot/core/types.ts';
import { QUEUES } from '../contract/index.ts';
import type { Deployer } from '../deploy/deployer.ts';
import { MAINTENANCE_QUEUE } from './retention-job.ts';

export const SYSTEM_TENANT = 'hoist:system';

export interface DeletionReceipt {
  tenantId: string;
  reason: string;
  operator: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  containersRemoved: number;
  redisKeysRemoved: number;
  rows: Record<string, number>;
  dataKeysDestroyed: number;
}

const JOB_STATES: JobType[] = ['completed', 'failed', 'delayed', 'wait', 'waiting-children', 'prioritized', 'active'];

/** Removes the tenant's BullMQ jobs and every Redis key naming the tenant; returns how many keys went. */
export async function purgeTenantRedis(redis: Redis, prefix: string | undefined, tenantId: string, masterKey?: Buffer): Promise<number> {
  let removed = 0;
  for (const name of [...Object.values(QUEUES), MAINTENANCE_QUEUE]) {
    const q = new Queue(name, { connection: redis, prefix });
    for (let start = 0; ; start += 500) {
      const jobs = await q.getJobs(JOB_STATES, start, start + 499);
      for (const j of jobs) {
        if ((j?.data as { tenantId?: string } | undefined)?.tenantId !== tenantId) continue;
        try { await j.remove(); removed++; } catch { /* active and locked: its worker finds the tenant gone and fails it */ }
      }
      if (jobs.length < 500) break;
    }
    await q.close();
  }
  const glob = (x: string) => x.replace(/[*?[\]\\]/g, '\\$&');
  // Keys naming the tenant, and the LLM stage's keys (budgets, thread context), which name it
  // only by its pseudonym.
  const patterns = [`*${glob(tenantId)}*`, ...(masterKey ? [`${glob(prefix ?? 'hoist')}:llm:*${glob(createPseudonym(masterKey)(tenantId, WORKSPACE))}*`] : [])];
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) removed += await redis.del(...keys);
    } while (cursor !== '0');
  }
  return removed;
}

export async function deleteTenant(d: {
  db: Db; sealer: Sealer; deployer: Deployer; redis: Redis; prefix?: string; clock: Clock;
  tenantId: string; reason: string; operator: string;
}): Promise<DeletionReceipt> {
  const started = d.clock.now();
  const containersRemoved = await d.deployer.remove(d.tenantId);
  const redisKeysRemoved = await purgeTenantRedis(d.redis, d.prefix, d.tenantId, d.sealer.keyring.current.key);
  const { rows, dataKeysDestroyed } = await eraseTenantRows(d.db, d.sealer, d.tenantId);
  const finished = d.clock.now();
  const receipt: DeletionReceipt = {
    tenantId: d.tenantId, reason: d.reason, operator: d.operator,
    startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime(),
    containersRemoved, redisKeysRemoved, rows, dataKeysDestroyed,
  };
  await d.db.insert(tenants).values({ id: SYSTEM_TENANT, platform: 'system' }).onConflictDoNothing();
  await appendAudit(d.db, {
    tenantId: SYSTEM_TENANT, type: 'admin.tenant_deleted', actor: d.operator,
    data: { tenant: d.tenantId, reason: d.reason, containersRemoved, redisKeysRemoved, dataKeysDestroyed, rows: Object.values(rows).reduce((a, b) => a + b, 0) },
  }, finished, d.sealer);
  return receipt;
}
