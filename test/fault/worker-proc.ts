/**
 * A workers process for fault tests (`node --import tsx test/fault/worker-proc.ts`): real
 * workers/main.ts with the outbox relay and reconciler on short periods and BullMQ locks of
 * 1.5 s, so a SIGKILLed worker's job is recovered in seconds. Environment: DATABASE_URL,
 * REDIS_URL, HOIST_MASTER_KEY, BULL_PREFIX, optional DOCKER_HOST and HOIST_TEST_PAUSE_AT/_DIR.
 * FAULT_RELAY_CRASH=1: SIGKILL itself right after the relay published a batch and before it
 * stamped the rows. Prints "ready" once the worker listens; SIGTERM closes it gracefully.
 */
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { createDb } from '../../db/client.ts';
import { startWorkers } from '../../workers/main.ts';

const config = parseConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' }, 'cli');
const dbh = await createDb({ url: config.DATABASE_URL! });
const services = { dbh, redisUrl: config.REDIS_URL!, masterKey: Buffer.from(config.HOIST_MASTER_KEY!, 'base64'), close: () => dbh.close() };
const crash = process.env.FAULT_RELAY_CRASH === '1';
const workers = await startWorkers({
  config, services, logger: createLogger({ level: config.LOG_LEVEL }), prefix: process.env.BULL_PREFIX,
  workerTiming: { lockDuration: 1500, stalledInterval: 500 }, reconcile: false, retention: false,
  lease: { ttlMs: 3_000, renewMs: 500, retryMs: 300 },
  outbox: {
    relay: {
      intervalMs: 100,
      afterPublish: crash ? async () => { process.stdout.write('published\n'); process.kill(process.pid, 'SIGKILL'); await new Promise(() => undefined); } : undefined,
    },
    reconcile: { intervalMs: 1_000, graceMs: 1_000, reportGraceMs: 2_000 },
  },
});
await workers.worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void workers.close(10_000).then(() => dbh.close()).then(() => process.exit(0));
});
