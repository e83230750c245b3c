/**
 * Research plan L7: two outbox relays (two database handles, as two workers processes would
 * have) against rows that concurrent transactions commit out of order (the sequence value is
 * taken at INSERT, the row becomes visible at COMMIT, after a random delay). Every row is
 * published exactly once — none skipped (no "id > last seen" cursor), none twice (FOR UPDATE
 * SKIP LOCKED) — both relays take part, and each job lands in its kind's lane (status → reads).
 * Real PostgreSQL and real BullMQ on Redis; the producer is wrapped only to count its calls.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../bot/infra/logger.ts';
import { createActionQueue } from '../../bot/infra/queue.ts';
import { createDb, type DbHandle } from '../../db/client.ts';
import { OutboxRepo } from '../../db/outbox.ts';
import { startRelay, type Relay } from '../../workers/outbox/relay.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';

let fx: Awaited<ReturnType<typeof freshDatabase>>;
let second: DbHandle;
let sql: postgres.Sql;
const prefix = uid('bull-');
const producer = createActionQueue({ redisUrl: TEST_REDIS_URL, prefix });
const relays: Relay[] = [];

beforeAll(async () => {
  fx = await freshDatabase();
  second = await createDb({ url: fx.url, max: 4 });
  sql = postgres(fx.url, { max: 24, onnotice: () => undefined });
});
afterAll(async () => {
  for (const r of relays) await r.stop();
  await producer.queue.obliterate({ force: true }).catch(() => undefined);
  await producer.reads.obliterate({ force: true }).catch(() => undefined);
  await producer.close();
  await sql?.end();
  await second?.close();
  await fx?.drop();
});

it('two relays, 600 rows committed out of order: each published exactly once, to its lane, none skipped', async () => {
  const tenant = `console:${randomBytes(4).toString('hex')}`;
  const n = 600;
  await sql`insert into tenants (id, platform) values (${tenant}, 'console')`;
  const ids = Array.from({ length: n }, (_, i) => `act-l7${String(i).padStart(4, '0')}${randomBytes(2).toString('hex')}`);
  const kindOf = (i: number) => (i % 3 === 0 ? 'status' : 'deploy');
  await sql`insert into actions ${sql(ids.map((id, i) => ({
    id, tenant_id: tenant, kind: kindOf(i), app: `a${i % 7}`, params: sql.json({}), requested_by: 'console:u', status: 'approved',
    conversation: sql.json({ platform: 'console', tenantId: tenant, channelId: 'c' }), expires_at: new Date(Date.now() + 900_000), decided_at: new Date(),
  })) as never)}`;

  const calls = new Map<string, { kind: string; relay: number }[]>();
  const publisher = (relay: number) => ({
    async publish(actionId: string, tenantId: string, kind: string) {
      calls.set(actionId, [...(calls.get(actionId) ?? []), { kind, relay }]);
      await producer.enqueue(actionId, tenantId, kind);
    },
  });
  const logger = createLogger({ level: 'silent' });
  relays.push(startRelay(new OutboxRepo(fx.dbh.db), publisher(1), logger, { intervalMs: 10, batch: 25 }));
  relays.push(startRelay(new OutboxRepo(second.db), publisher(2), logger, { intervalMs: 10, batch: 25 }));

  // 20 approvers: each INSERT takes its sequence value at once and commits 0–150 ms later, so
  // a later id is often visible before an earlier one.
  const order: string[] = [];
  await Promise.all(Array.from({ length: 20 }, async (_, w) => {
    for (let i = w; i < n; i += 20) {
      await sql.begin(async (tx) => {
        await tx`insert into outbox (tenant_id, action_id) values (${tenant}, ${ids[i]!})`;
        await new Promise((r) => setTimeout(r, Math.random() * 150));
      });
      order.push(ids[i]!);
    }
  }));
  const outOfOrder = order.filter((id, k) => k > 0 && id < order[k - 1]!).length;
  expect(outOfOrder).toBeGreaterThan(50); // the commits really did come out of id order

  const until = Date.now() + 60_000;
  for (;;) {
    const [r] = await sql`select count(*)::int as left from outbox where published_at is null`;
    if (r!.left === 0) break;
    if (Date.now() > until) throw new Error(`${r!.left} outbox rows never published`);
    await new Promise((res) => setTimeout(res, 50));
  }
  expect(calls.size).toBe(n);
  const twice = [...calls].filter(([, c]) => c.length !== 1).map(([id]) => id);
  expect(twice).toEqual([]);
  for (const [id, [c]] of calls) expect(c!.kind).toBe(kindOf(ids.indexOf(id)));
  const byRelay = [1, 2].map((r) => [...calls.values()].filter(([c]) => c!.relay === r).length);
  expect(byRelay[0]).toBeGreaterThan(0);
  expect(byRelay[1]).toBeGreaterThan(0);
  const reads = await producer.reads.count();
  const changes = await producer.queue.count();
  expect(reads).toBe(ids.filter((_, i) => kindOf(i) === 'status').length);
  expect(changes).toBe(n - reads);
  const [e] = await sql`select count(*)::int as n from actions where tenant_id = ${tenant} and enqueued_at is null`;
  expect(e!.n).toBe(0);
}, 90_000);
