/**
 * Outbox relay: publishes approved actions to BullMQ (job id = action id) and stamps their
 * outbox rows (db/outbox.ts). Runs in the workers process (workers/main.ts); any number of
 * relays may run side by side — `FOR UPDATE SKIP LOCKED` gives each row to one of them at a
 * time, and a row committed late is still seen (no "id > last seen" cursor).
 * A relay killed between publish and stamp leaves the row unpublished; the next relay
 * publishes it again, which BullMQ ignores while the job exists and the processor absorbs
 * when it does not (a finished action only re-publishes its result, deduped by the reporter).
 */
import type { OutboxRepo, OutboxRow } from '../../db/outbox.ts';
import type { Logger } from '../../bot/core/types.ts';

export interface ActionPublisher {
  /** Adds the action's job (job id = action id) to its kind's lane; rejects at once when Redis is down. */
  publish(actionId: string, tenantId: string, kind: string): Promise<void>;
}

export interface RelayOptions {
  /** Poll period while idle; a full batch is followed by the next one at once. */
  intervalMs?: number;
  batch?: number;
  /** TEST ONLY: runs after the batch was published and before it is stamped (crash tests kill the process here). */
  afterPublish?: () => Promise<void>;
  onPublished?: (row: OutboxRow) => void;
}

export interface Relay {
  /** One pass (tests, shutdown); returns how many rows were published. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startRelay(repo: OutboxRepo, publisher: ActionPublisher, logger: Logger, o: RelayOptions = {}): Relay {
  const log = logger.child({ op: 'outbox.relay' });
  const batch = o.batch ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let failing = false;

  const runOnce = async (): Promise<number> => {
    const r = await repo.relayBatch(batch, async (row) => {
      await publisher.publish(row.actionId, row.tenantId, row.kind);
      o.onPublished?.(row);
    }, { afterPublish: o.afterPublish });
    if (r.failed && !failing) log.warn({ failed: r.failed }, 'outbox.publish_failed');
    failing = r.failed > 0;
    if (r.published) log.debug({ published: r.published }, 'outbox.published');
    return r.published;
  };

  const tick = () => {
    if (stopped) return;
    running = runOnce().then(
      (n) => schedule(n >= batch ? 0 : o.intervalMs ?? 500),
      (e: unknown) => {
        // The database is down or the transaction broke: try again later, never crash the process.
        log.warn({ err: e instanceof Error ? e.message : String(e) }, 'outbox.relay_failed');
        schedule(Math.max(o.intervalMs ?? 500, 1000));
      },
    );
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
