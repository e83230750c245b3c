/**
 * Audit verification: recomputes each tenant's hash chain from its latest signed checkpoint
 * to its signed head (the formulas and the tamper-evidence design are in audit.ts).
 */
import { asc, eq, sql } from 'drizzle-orm';
import { canonical, eventHash, eventHashV2Iso, GENESIS, headMessage, isErased, rowsOf, sha256 } from './audit.ts';
import type { Db } from './client.ts';
import { isPseudonym, type Sealer } from './crypto.ts';
import { auditCheckpoints, auditEvents, auditHeads, tenantKeys } from './schema/index.ts';

export interface VerifyResult {
  ok: boolean;
  tenants: number;
  events: number;
  /** Events whose raw actor could not be checked against its pseudonym (verify ran without keys). */
  unchecked?: number;
  /** The first bad event, when not ok. */
  firstBad?: { tenantId: string; seq: number; id: number; reason: string };
}

/**
 * Recomputes every chain (or one tenant's) from its latest checkpoint to its head. With a
 * Sealer, checkpoint and head MACs and raw actors are checked too; without one, links and
 * hashes only.
 *
 * Speed (1 M events): heads and checkpoints are read once for all tenants, events in large
 * keyset pages with the next page fetched while the current one is hashed, and several
 * tenants (independent chains) are verified at once so PostgreSQL and the hashing overlap.
 * Per row (the cost that matters): PostgreSQL renders created_at as the ISO string (no Date
 * parsing), ids and an actor equal to its ref are not sent, the v2 body is written out
 * directly and hashed with the one-shot crypto.hash. test/integration/audit-verify.test.ts
 * pins the ISO rendering and the reported ids.
 * The answer is the same as verifying tenant by tenant in order: the first bad event of the
 * first bad tenant, with the events counted before it.
 */
export async function verifyAudit(db: Db, tenantId?: string, sealer?: Sealer, opts: { parallel?: number; pageSize?: number } = {}): Promise<VerifyResult> {
  const tenantIds = tenantId ? [tenantId] : [...new Set([
    ...(await db.selectDistinct({ t: auditEvents.tenantId }).from(auditEvents)).map((r) => r.t),
    ...(await db.select({ t: auditHeads.tenantId }).from(auditHeads)).map((r) => r.t),
  ])].sort();
  const heads = new Map((await db.select().from(auditHeads).where(tenantId ? eq(auditHeads.tenantId, tenantId) : undefined)).map((h) => [h.tenantId, h]));
  const checkpoints = new Map<string, typeof auditCheckpoints.$inferSelect>();
  for (const c of await db.select().from(auditCheckpoints).where(tenantId ? eq(auditCheckpoints.tenantId, tenantId) : undefined).orderBy(asc(auditCheckpoints.seq))) {
    checkpoints.set(c.tenantId, c); // ascending: the latest checkpoint of each tenant wins
  }
  const parallel = Math.max(1, opts.parallel ?? 4);
  const pageSize = opts.pageSize ?? 20_000;
  const results: Array<TenantVerdict | undefined> = new Array(tenantIds.length);
  let next = 0;
  let firstBadAt = Infinity;
  const lane = async () => {
    for (;;) {
      const i = next++;
      // Past a failure, later tenants cannot change the answer.
      if (i >= tenantIds.length || i > firstBadAt) return;
      const t = tenantIds[i]!;
      const v = await verifyTenant(db, t, heads.get(t), checkpoints.get(t), sealer, pageSize);
      results[i] = v;
      if (v.bad) firstBadAt = Math.min(firstBadAt, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, tenantIds.length) }, lane));
  let events = 0;
  let unchecked = 0;
  for (const v of results) {
    if (!v) break;
    events += v.events;
    unchecked += v.unchecked;
    if (v.bad) return { ok: false, tenants: tenantIds.length, events, unchecked, firstBad: v.bad };
  }
  return { ok: true, tenants: tenantIds.length, events, unchecked };
}

interface TenantVerdict { events: number; unchecked: number; bad?: NonNullable<VerifyResult['firstBad']> }
interface EventRow {
  seq: number; type: string; action_id: string | null; actor_ref: string | null;
  /** null when actor equals actor_ref (the usual row); else '-' for no actor or '=' + the actor. */
  actor_x: string | null;
  data: unknown; data_digest: string | null; created_iso: string | null; created_at: string | Date | null; prev_hash: string; hash: string;
}

/**
 * created_at in Date#toISOString form, computed by PostgreSQL (no Date parsing per row). Both
 * truncate to milliseconds. Outside years 1900..9999 (toISOString writes ±YYYYYY, to_char has no
 * era, zones had odd offsets) the raw value comes back instead and takes the Date path.
 */
const CREATED = sql.raw(`case when created_at >= '1900-01-01T00:00:00Z' and created_at < '9999-01-01T00:00:00Z'
      then to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') end as created_iso,
    case when created_at >= '1900-01-01T00:00:00Z' and created_at < '9999-01-01T00:00:00Z' then null else created_at end as created_at`);

/** Fewer columns to decode: the actor only when it differs from actor_ref (ids are looked up on failure). */
const ACTOR_X = sql.raw(`case when actor is not distinct from actor_ref then null when actor is null then '-' else '=' || actor end as actor_x`);
const actorOf = (r: EventRow): string | null => (r.actor_x === null ? r.actor_ref : r.actor_x === '-' ? null : r.actor_x.slice(1));

const isoOf = (r: EventRow): string => r.created_iso ?? (r.created_at instanceof Date ? r.created_at : new Date(r.created_at!)).toISOString();
const dateOf = (r: EventRow): Date => (r.created_iso !== null ? new Date(r.created_iso) : r.created_at instanceof Date ? r.created_at : new Date(r.created_at!));

async function verifyTenant(db: Db, t: string, head: typeof auditHeads.$inferSelect | undefined, cp: typeof auditCheckpoints.$inferSelect | undefined,
  sealer: Sealer | undefined, pageSize: number): Promise<TenantVerdict> {
  let events = 0;
  let unchecked = 0;
  const keyring = sealer?.keyring;
  const fail = (seq: number, id: number, reason: string): TenantVerdict => ({ events, unchecked, bad: { tenantId: t, seq, id, reason } });
  // Pages carry no ids: the failing row's is looked up by its (tenant, seq), which is unique.
  const idOf = async (seq: number) => Number(rowsOf<{ id: number }>(await db.execute(sql`
    select id::float8 as id from audit_events where tenant_id = ${t} and seq = ${seq} order by id limit 1`))[0]?.id ?? 0);
  const rowFail = async (seq: number, reason: string) => fail(seq, await idOf(seq), reason);
  if (cp && keyring && !keyring.get(cp.kid)) return fail(cp.seq, 0, `the retention checkpoint is signed by master key ${cp.kid}, which is not configured`);
  if (cp && keyring && !keyring.check('audit-checkpoint', headMessage(t, cp.seq, cp.hash), cp.kid, cp.mac)) {
    return fail(cp.seq, 0, 'the retention checkpoint signature is invalid: the checkpoint was forged or edited');
  }
  // The head was read first: an append commits its rows and the head together, so every row up
  // to the head's seq is visible now; rows appended while we verify are beyond it and not judged.
  let prev = cp?.hash ?? GENESIS;
  let expectedSeq = (cp?.seq ?? 0) + 1;
  let seen = false;
  let lastV2 = false;
  const page = async (after: number) => rowsOf<EventRow>(await db.execute(sql`
    select seq::float8 as seq, type, action_id, actor_ref, ${ACTOR_X}, data, data_digest, ${CREATED}, prev_hash, hash
    from audit_events where tenant_id = ${t} and seq > ${after} ${head ? sql`and seq <= ${head.seq}` : sql``}
    order by seq limit ${pageSize}`));
  let pending: Promise<EventRow[]> | undefined = page(cp?.seq ?? 0);
  while (pending) {
    const rows: EventRow[] = await pending;
    // Fetch the next page while this one is hashed.
    pending = rows.length === pageSize ? page(Number(rows[rows.length - 1]!.seq)) : undefined;
    pending?.catch(() => undefined);
    for (const r of rows) {
      const seq = Number(r.seq);
      events++;
      if (seq !== expectedSeq) return rowFail(seq, `expected seq ${expectedSeq}, found ${seq}: an event is missing or was inserted`);
      if (r.prev_hash !== prev) return rowFail(seq, 'prev_hash does not match the previous event: an event was removed, inserted or edited');
      const digest = r.data_digest;
      if (digest === null) {
        const row = { tenantId: t, seq, type: r.type, actionId: r.action_id, actor: actorOf(r), data: r.data, createdAt: dateOf(r) };
        if (eventHash(prev, row) !== r.hash) return rowFail(seq, 'hash does not match the row: the event was edited');
      } else {
        if (!isErased(r.data) && sha256(canonical(r.data)) !== digest) return rowFail(seq, 'data does not match its digest: the event was edited');
        const row = { tenantId: t, seq, type: r.type, actionId: r.action_id, actorRef: r.actor_ref, dataDigest: digest };
        if (eventHashV2Iso(prev, row, isoOf(r)) !== r.hash) return rowFail(seq, 'hash does not match the row: the event was edited');
        // The common cases need no key: no actor, or the raw actor equal to its ref.
        if (r.actor_x !== null) {
          const actorBad = await actorMismatch(t, actorOf(r), r.actor_ref, sealer);
          if (actorBad === 'unchecked') unchecked++;
          else if (actorBad) return rowFail(seq, `${actorBad}: the event was edited`);
        }
      }
      prev = r.hash;
      seen = true;
      lastV2 = digest !== null;
      expectedSeq++;
    }
  }
  const lastSeq = expectedSeq - 1;
  const tailFail = async (seq: number, reason: string) => fail(seq, seen ? await idOf(lastSeq) : 0, reason);
  if (!head) {
    if (lastSeq > 0) return tailFail(lastSeq, 'the chain has no head record: it was deleted');
    return { events, unchecked };
  }
  if (head.seq !== lastSeq || head.hash !== prev) {
    return tailFail(Math.min(head.seq, lastSeq + 1), `the chain ends at seq ${lastSeq} but its head says seq ${head.seq}: events were truncated from the tail or the head was edited`);
  }
  if (keyring) {
    if (head.kid && head.mac) {
      if (!keyring.get(head.kid)) return tailFail(head.seq, `the head is signed by master key ${head.kid}, which is not configured (HOIST_MASTER_KEY_PREVIOUS?)`);
      if (!keyring.check('audit-head', headMessage(t, head.seq, head.hash), head.kid, head.mac)) {
        return tailFail(head.seq, 'the head signature is invalid: the head was forged or edited');
      }
    } else if (lastV2 && (await db.select({ v: tenantKeys.version }).from(tenantKeys).where(eq(tenantKeys.tenantId, t)).limit(1)).length) {
      // New appends for a tenant with key material always sign the head (only heads backfilled
      // by migration 0004 over legacy v1 rows are unsigned): an unsigned one was rewritten.
      return tailFail(head.seq, 'the head is not signed: it was rewritten');
    }
  }
  return { events, unchecked };
}

async function actorMismatch(tenantId: string, actor: string | null, actorRef: string | null, sealer?: Sealer): Promise<string | 'unchecked' | undefined> {
  if (actor === null) return actorRef === null ? undefined : 'actor was removed';
  if (actor === actorRef) return undefined;
  if (actorRef === null || !isPseudonym(actorRef)) return 'actor does not match actor_ref';
  if (!sealer) return 'unchecked';
  return (await sealer.pseudonym(tenantId, actor)) === actorRef ? undefined : 'actor does not match its pseudonym';
}

