/**
 * Audit log: append-only, one hash chain per tenant. Each event's hash is
 * sha256(prev_hash | canonical JSON of {tenantId, seq, type, actionId, actor, data, createdAt}),
 * so an edited, inserted or deleted row breaks every later link. Appends take a
 * per-tenant transaction-scoped advisory lock so concurrent writers never fork the chain.
 */
import { createHash } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { auditEvents } from './schema/index.ts';

export const GENESIS = '0'.repeat(64);

export interface AuditInput {
  tenantId: string;
  type: string;
  actionId?: string | null;
  actor?: string | null;
  data?: Record<string, unknown>;
}

/** JSON with sorted keys at every depth: the same row always hashes the same. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

export function eventHash(prevHash: string, e: {
  tenantId: string; seq: number; type: string; actionId: string | null; actor: string | null; data: unknown; createdAt: Date;
}): string {
  const body = canonical({
    tenantId: e.tenantId, seq: e.seq, type: e.type, actionId: e.actionId, actor: e.actor, data: e.data,
    createdAt: e.createdAt.toISOString(),
  });
  return createHash('sha256').update(prevHash).update('|').update(body).digest('hex');
}

export async function appendAudit(db: Db, input: AuditInput, now: Date = new Date()): Promise<{ seq: number; hash: string }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'audit:' + input.tenantId}))`);
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.tenantId, input.tenantId))
      .orderBy(sql`${auditEvents.seq} desc`)
      .limit(1);
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS;
    // Postgres keeps microseconds, JS Dates milliseconds: hash what will be read back.
    const createdAt = new Date(Math.floor(now.getTime()));
    const row = {
      tenantId: input.tenantId, seq, type: input.type, actionId: input.actionId ?? null,
      actor: input.actor ?? null, data: input.data ?? {}, createdAt,
    };
    const hash = eventHash(prevHash, row);
    await tx.insert(auditEvents).values({ ...row, prevHash, hash });
    return { seq, hash };
  });
}

export interface VerifyResult {
  ok: boolean;
  tenants: number;
  events: number;
  /** The first bad event, when not ok. */
  firstBad?: { tenantId: string; seq: number; id: number; reason: string };
}

export async function verifyAudit(db: Db, tenantId?: string): Promise<VerifyResult> {
  const tenantIds = tenantId
    ? [tenantId]
    : (await db.selectDistinct({ t: auditEvents.tenantId }).from(auditEvents)).map((r) => r.t);
  let events = 0;
  for (const t of tenantIds) {
    let prev = GENESIS;
    let expectedSeq = 1;
    const pageSize = 5000;
    let after = 0;
    for (;;) {
      const rows = await db.select().from(auditEvents)
        .where(sql`${auditEvents.tenantId} = ${t} and ${auditEvents.seq} > ${after}`)
        .orderBy(asc(auditEvents.seq)).limit(pageSize);
      for (const r of rows) {
        events++;
        const bad = (reason: string): VerifyResult => ({ ok: false, tenants: tenantIds.length, events, firstBad: { tenantId: t, seq: r.seq, id: r.id, reason } });
        if (r.seq !== expectedSeq) return bad(`expected seq ${expectedSeq}, found ${r.seq}: an event is missing or was inserted`);
        if (r.prevHash !== prev) return bad('prev_hash does not match the previous event: an event was removed, inserted or edited');
        const h = eventHash(prev, { ...r, actionId: r.actionId, actor: r.actor });
        if (h !== r.hash) return bad('hash does not match the row: the event was edited');
        prev = r.hash;
        expectedSeq++;
      }
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]!.seq;
    }
  }
  return { ok: true, tenants: tenantIds.length, events };
}

/** The AuditLog port (bot/core/ports.ts) over this table. */
export function createAuditLog(db: Db, clock: { now(): Date }) {
  return {
    async append(e: AuditInput): Promise<void> {
      await appendAudit(db, e, clock.now());
    },
  };
}
