/**
 * Audit log: append-only, one hash chain per tenant.
 *
 *   hash = sha256(prev_hash | canonical{v:2, tenantId, seq, type, actionId, actorRef, dataDigest, createdAt})
 *   actorRef   = the tenant's keyed pseudonym of actor (HMAC under a sealed tenant secret, Sealer.pseudonym)
 *   dataDigest = sha256(canonical(data))
 *
 * Why the chain covers the pseudonym and a digest rather than the raw values (the forget-me
 * design choice): erasure must not break verification. "Forget me" replaces `actor` by
 * `actor_ref` (which the hash already covers) and replaces `data` that mentions the user by
 * `{"$erased": reason}` (the digest stays, so the link still verifies; an erased row can only
 * lose content, never gain forged content). Retention erases chat text the same way. With the
 * keys, verify also checks a raw actor against its actor_ref, so actors cannot be swapped.
 * Rows written before this format (data_digest null) verify with the v1 formula.
 *
 * Tamper evidence beyond the links: audit_heads keeps the signed (seq, hash) of the last event,
 * so a truncated tail (or a chain deleted whole) is caught; retention cuts the front and leaves
 * a signed audit_checkpoints row (seq, hash at the cut) where verification restarts. MACs use a
 * key derived from the master key (Keyring.sign). A DB trigger (migration 0004) refuses UPDATE,
 * DELETE and TRUNCATE unless the transaction set hoist.audit_maintenance (withAuditMaintenance).
 * Appends take a per-tenant advisory lock so concurrent writers never fork the chain.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import { and, desc, eq, lt, lte, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import type { Keyring, Sealer } from './crypto.ts';
import { auditCheckpoints, auditEvents, auditHeads } from './schema/index.ts';

export const GENESIS = '0'.repeat(64);
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

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
  // Loops rather than map/filter/join: verify runs this for every event (same output).
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + canonical(v[i]);
    return `${s}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    s += `${first ? '' : ','}${JSON.stringify(k)}:${canonical(x)}`;
    first = false;
  }
  return `${s}}`;
}

/** sha256 hex of a string: the one-shot crypto.hash where Node has it (20.12+), the same digest as createHash. */
export const sha256: (s: string) => string = typeof oneShotHash === 'function'
  ? (s) => oneShotHash('sha256', s, 'hex')
  : (s) => createHash('sha256').update(s).digest('hex');
export const digestOf = (data: unknown): string => sha256(canonical(data));
export const ERASED = '$erased';
export const isErased = (data: unknown): boolean =>
  typeof data === 'object' && data !== null && !Array.isArray(data) && ERASED in data && Object.keys(data).length === 1;

/** v1 (legacy rows): the raw actor and data inside the hash. */
export function eventHash(prevHash: string, e: {
  tenantId: string; seq: number; type: string; actionId: string | null; actor: string | null; data: unknown; createdAt: Date;
}): string {
  const body = canonical({
    tenantId: e.tenantId, seq: e.seq, type: e.type, actionId: e.actionId, actor: e.actor, data: e.data,
    createdAt: e.createdAt.toISOString(),
  });
  return createHash('sha256').update(prevHash).update('|').update(body).digest('hex');
}

export function eventHashV2(prevHash: string, e: {
  tenantId: string; seq: number; type: string; actionId: string | null; actorRef: string | null; dataDigest: string; createdAt: Date;
}): string {
  return eventHashV2Iso(prevHash, e, e.createdAt.toISOString());
}

/**
 * canonical({v: 2, tenantId, seq, type, actionId, actorRef, dataDigest, createdAt}) written out
 * directly, keys in sorted order (the same string, without building and sorting an object).
 */
export function eventHashV2Iso(prevHash: string, e: { tenantId: string; seq: number; type: string; actionId: string | null; actorRef: string | null; dataDigest: string }, createdAt: string): string {
  // Keys in canonical (sorted) order; every value is a string, a number or null.
  const body = `{"actionId":${JSON.stringify(e.actionId)},"actorRef":${JSON.stringify(e.actorRef)},"createdAt":${JSON.stringify(createdAt)},"dataDigest":${
    JSON.stringify(e.dataDigest)},"seq":${JSON.stringify(e.seq)},"tenantId":${JSON.stringify(e.tenantId)},"type":${JSON.stringify(e.type)},"v":2}`;
  return sha256(`${prevHash}|${body}`);
}

export const headMessage = (tenantId: string, seq: number, hash: string) => `${tenantId}|${seq}|${hash}`;

export const lockAudit = (tx: Tx, tenantId: string) => tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'audit:' + tenantId}))`);

/**
 * Appends one event. With a Sealer the actor is bound through its pseudonym and the head is
 * signed; without one (tests, tools) actor_ref is the raw actor and the head is unsigned.
 *
 * Appends go through one writer per database handle (AuditWriter below): events for the same
 * tenant that arrive while a write is in flight are chained together and committed in the
 * next single statement (group commit), and the writer remembers each tenant's head so the
 * usual append is one autocommit statement instead of a locked five-statement transaction.
 * The chain cannot fork: that statement takes the same per-tenant advisory lock, moves the
 * head with a compare-and-set (`where seq = <remembered> and hash = <remembered>`) and
 * inserts the events only when the head moved; (tenant_id, seq) is unique besides. When the
 * remembered head is stale (another process appended, retention or a deletion ran) or
 * unknown, the batch is written by the locked transaction that reads the chain's end first.
 * Each caller's promise resolves once its event is committed.
 */
export async function appendAudit(db: Db, input: AuditInput, now: Date = new Date(), sealer?: Sealer): Promise<{ seq: number; hash: string }> {
  return writerFor(db).append(input, now, sealer);
}

/** Several events for one tenant, chained in this order and committed together (one statement). */
export async function appendAuditMany(db: Db, inputs: AuditInput[], now: Date = new Date(), sealer?: Sealer): Promise<Array<{ seq: number; hash: string }>> {
  const w = writerFor(db);
  return Promise.all(inputs.map((i) => w.append(i, now, sealer)));
}

interface PendingEvent {
  tenantId: string; type: string; actionId: string | null; actor: string | null; actorRef: string | null;
  data: Record<string, unknown>; dataDigest: string; createdAt: Date; sealer?: Sealer;
  done: (r: { seq: number; hash: string }) => void; fail: (e: unknown) => void;
}
type Head = { seq: number; hash: string };
const MAX_BATCH = 500;

class AuditWriter {
  /** Last known (seq, hash) of each tenant's chain, as committed by this writer. */
  private readonly heads = new Map<string, Head>();
  private readonly lanes = new Map<string, PendingEvent[]>();
  constructor(private readonly db: Db) {}

  append(input: AuditInput, now: Date, sealer?: Sealer): Promise<Head> {
    // Queued synchronously (the pseudonym is derived when the batch is written), so events
    // appended one after the other take consecutive places in the chain in that order.
    const actor = input.actor ?? null;
    const data = input.data ?? {};
    const dataDigest = digestOf(data);
    // Postgres keeps microseconds, JS Dates milliseconds: hash what will be read back.
    const createdAt = new Date(Math.floor(now.getTime()));
    return new Promise<Head>((done, fail) => {
      const e: PendingEvent = { tenantId: input.tenantId, type: input.type, actionId: input.actionId ?? null, actor, actorRef: null, data, dataDigest, createdAt, sealer, done, fail };
      const lane = this.lanes.get(e.tenantId);
      if (lane) { lane.push(e); return; }
      this.lanes.set(e.tenantId, [e]);
      void this.drain(e.tenantId);
    });
  }

  /** Writes the tenant's queued events, a batch at a time, until none is left (then the lane closes). */
  private async drain(tenantId: string): Promise<void> {
    const lane = this.lanes.get(tenantId)!;
    while (lane.length) {
      const first = lane[0]!;
      let n = 1;
      while (n < lane.length && n < MAX_BATCH && lane[n]!.sealer === first.sealer) n++;
      const batch = lane.splice(0, n);
      try {
        await Promise.all(batch.map(async (e) => {
          e.actorRef = e.actor === null ? null : e.sealer ? await e.sealer.pseudonym(tenantId, e.actor) : e.actor;
        }));
        const heads = await this.write(tenantId, batch);
        batch.forEach((e, i) => e.done(heads[i]!));
      } catch (err) {
        this.heads.delete(tenantId);
        for (const e of batch) e.fail(err);
      }
    }
    this.lanes.delete(tenantId);
  }

  private async write(tenantId: string, batch: PendingEvent[]): Promise<Head[]> {
    const known = this.heads.get(tenantId);
    if (known) {
      const out = await this.writeFast(tenantId, known, batch);
      if (out) { this.heads.set(tenantId, out[out.length - 1]!); return out; }
      this.heads.delete(tenantId);
    }
    const out = await this.writeLocked(tenantId, batch);
    this.heads.set(tenantId, out[out.length - 1]!);
    return out;
  }

  /** One statement: lock, compare-and-set the head, insert the events. Undefined when the head had moved. */
  private async writeFast(tenantId: string, prev: Head, batch: PendingEvent[]): Promise<Head[] | undefined> {
    const { rows, heads } = chainRows(prev, batch);
    const last = heads[heads.length - 1]!;
    const sig = headSig(batch[0]!.sealer, tenantId, last);
    // The rows travel as one JSON parameter: the statement's text is the same for any batch size,
    // so it is prepared once (db/client.ts) and built without a placeholder per value.
    const values = JSON.stringify(rows.map((r) => ({
      tenant_id: r.tenantId, seq: r.seq, type: r.type, action_id: r.actionId, actor: r.actor, actor_ref: r.actorRef, data: r.data,
      data_digest: r.dataDigest, created_at: r.createdAt.toISOString(), prev_hash: r.prevHash, hash: r.hash,
    })));
    const res = rowsOf<{ seq: number }>(await this.db.execute(sql`
      with l as materialized (select pg_advisory_xact_lock(hashtext(${'audit:' + tenantId})) as locked),
      h as (
        update audit_heads set seq = ${last.seq}, hash = ${last.hash}, kid = ${sig.kid}, mac = ${sig.mac}, updated_at = ${batch[batch.length - 1]!.createdAt.toISOString()}::timestamptz
        where tenant_id = ${tenantId} and seq = ${prev.seq} and hash = ${prev.hash} and exists (select 1 from l)
        returning 1
      )
      insert into audit_events (tenant_id, seq, type, action_id, actor, actor_ref, data, data_digest, created_at, prev_hash, hash)
      select v.tenant_id, v.seq, v.type, v.action_id, v.actor, v.actor_ref, v.data, v.data_digest, v.created_at, v.prev_hash, v.hash
      from json_to_recordset(${values}::json) as v(tenant_id text, seq bigint, type text, action_id text, actor text, actor_ref text, data jsonb,
        data_digest text, created_at timestamptz, prev_hash text, hash text)
      where exists (select 1 from h)
      order by v.seq
      returning seq`));
    if (res.length === 0) return undefined;
    if (res.length !== rows.length) throw new Error(`audit append wrote ${res.length} of ${rows.length} events`);
    return heads;
  }

  /** The locked transaction: reads the chain's end under the tenant's lock, then writes. */
  private async writeLocked(tenantId: string, batch: PendingEvent[]): Promise<Head[]> {
    return this.db.transaction(async (tx) => {
      await lockAudit(tx, tenantId);
      const [lastRow] = await tx.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents)
        .where(eq(auditEvents.tenantId, tenantId)).orderBy(desc(auditEvents.seq)).limit(1);
      // After retention removed every row, the chain continues from the signed head.
      const [head] = lastRow ? [] : await tx.select().from(auditHeads).where(eq(auditHeads.tenantId, tenantId));
      const prev = { seq: lastRow?.seq ?? head?.seq ?? 0, hash: lastRow?.hash ?? head?.hash ?? GENESIS };
      const { rows, heads } = chainRows(prev, batch);
      const last = heads[heads.length - 1]!;
      await tx.insert(auditEvents).values(rows);
      const sig = headSig(batch[0]!.sealer, tenantId, last);
      const updatedAt = batch[batch.length - 1]!.createdAt;
      await tx.insert(auditHeads).values({ tenantId, seq: last.seq, hash: last.hash, ...sig, updatedAt })
        .onConflictDoUpdate({ target: auditHeads.tenantId, set: { seq: last.seq, hash: last.hash, ...sig, updatedAt } });
      return heads;
    });
  }
}

function chainRows(prev: Head, batch: PendingEvent[]) {
  let { seq, hash: prevHash } = prev;
  const rows: Array<typeof auditEvents.$inferInsert & { seq: number; prevHash: string; hash: string; createdAt: Date; data: Record<string, unknown>; dataDigest: string }> = [];
  const heads: Head[] = [];
  for (const e of batch) {
    seq++;
    const row = { tenantId: e.tenantId, seq, type: e.type, actionId: e.actionId, actor: e.actor, actorRef: e.actorRef, data: e.data, dataDigest: e.dataDigest, createdAt: e.createdAt };
    const hash = eventHashV2(prevHash, row);
    rows.push({ ...row, prevHash, hash });
    heads.push({ seq, hash });
    prevHash = hash;
  }
  return { rows, heads };
}

const headSig = (sealer: Sealer | undefined, tenantId: string, h: Head) =>
  sealer ? sealer.keyring.sign('audit-head', headMessage(tenantId, h.seq, h.hash)) : { kid: null, mac: null };

export function rowsOf<T>(res: unknown): T[] {
  if (Array.isArray(res)) return res as T[];
  return ((res as { rows?: T[] }).rows ?? []);
}

const writers = new WeakMap<Db, AuditWriter>();
function writerFor(db: Db): AuditWriter {
  let w = writers.get(db);
  if (!w) writers.set(db, (w = new AuditWriter(db)));
  return w;
}

/** Runs fn in a transaction allowed to rewrite or delete audit rows (retention, forget-me, tenant deletion). */
export async function withAuditMaintenance<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('hoist.audit_maintenance', 'on', true)`);
    return fn(tx);
  });
}

/**
 * Cuts the front of a tenant's chain: every event created before `before` goes, and a signed
 * checkpoint (seq and hash of the last removed event) lets verification start after it.
 */
export async function pruneAudit(db: Db, tenantId: string, before: Date, keyring: Keyring): Promise<number> {
  return withAuditMaintenance(db, async (tx) => {
    await lockAudit(tx, tenantId);
    const [cut] = await tx.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents)
      .where(and(eq(auditEvents.tenantId, tenantId), lt(auditEvents.createdAt, before)))
      .orderBy(desc(auditEvents.seq)).limit(1);
    if (!cut) return 0;
    const sig = keyring.sign('audit-checkpoint', headMessage(tenantId, cut.seq, cut.hash));
    await tx.insert(auditCheckpoints).values({ tenantId, seq: cut.seq, hash: cut.hash, ...sig }).onConflictDoNothing();
    const gone = await tx.delete(auditEvents).where(and(eq(auditEvents.tenantId, tenantId), lte(auditEvents.seq, cut.seq))).returning({ id: auditEvents.id });
    return gone.length;
  });
}

/** Re-signs heads and checkpoints whose MAC is valid under a previous master key (after master rotation). */
export async function resignAudit(db: Db, keyring: Keyring): Promise<{ resigned: number; invalid: number }> {
  let resigned = 0;
  let invalid = 0;
  for (const h of await db.select().from(auditHeads)) {
    if (!h.kid || !h.mac || h.kid === keyring.current.kid) continue;
    const msg = headMessage(h.tenantId, h.seq, h.hash);
    if (!keyring.check('audit-head', msg, h.kid, h.mac)) { invalid++; continue; }
    const r = await db.update(auditHeads).set(keyring.sign('audit-head', msg))
      .where(and(eq(auditHeads.tenantId, h.tenantId), eq(auditHeads.seq, h.seq), eq(auditHeads.mac, h.mac))).returning();
    resigned += r.length;
  }
  for (const c of await db.select().from(auditCheckpoints)) {
    if (c.kid === keyring.current.kid) continue;
    const msg = headMessage(c.tenantId, c.seq, c.hash);
    if (!keyring.check('audit-checkpoint', msg, c.kid, c.mac)) { invalid++; continue; }
    await db.update(auditCheckpoints).set(keyring.sign('audit-checkpoint', msg))
      .where(and(eq(auditCheckpoints.tenantId, c.tenantId), eq(auditCheckpoints.seq, c.seq)));
    resigned++;
  }
  return { resigned, invalid };
}

export { verifyAudit, type VerifyResult } from './audit-verify.ts';

/** The AuditLog port (bot/core/ports.ts) over this table. */
export function createAuditLog(db: Db, clock: { now(): Date }, sealer?: Sealer) {
  return {
    async append(e: AuditInput): Promise<void> {
      await appendAudit(db, e, clock.now(), sealer);
    },
  };
}
