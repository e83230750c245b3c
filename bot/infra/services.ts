/**
 * Opens the shared infrastructure for a process: Postgres (or embedded PGlite), Redis
 * (or a private redis-server in console/start mode) and the master key. A service that
 * cannot be reached stops start-up with a message naming it and the URL tried (without
 * credentials).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createDb, safeUrl, type DbHandle } from '../../db/client.ts';
import { parseMasterKey } from '../../db/crypto.ts';
import type { Config, Mode } from '../config.ts';
import { HoistError } from '../core/errors.ts';
import { startEmbeddedRedis } from './embedded-redis.ts';

export interface Services {
  dbh: DbHandle;
  redisUrl: string;
  masterKey: Buffer;
  /** Previous master keys still accepted for unwrapping (db/crypto.ts Keyring) until `hoist keys rotate`. */
  previousMasterKeys?: Buffer[];
  close(): Promise<void>;
}

/** Where console mode keeps its master key, and the keys it replaced until everything is re-wrapped. */
export const masterKeyFiles = (config: Config) => {
  const dir = resolve(config.HOIST_DATA_DIR);
  return { dir, current: join(dir, 'master.key'), previous: join(dir, 'master.key.previous') };
};

/** HOIST_MASTER_KEY_PREVIOUS, else the lines of $HOIST_DATA_DIR/master.key.previous (written by `hoist keys rotate --new-master`). */
export function previousMasterKeysFrom(config: Config): Buffer[] {
  if (config.HOIST_MASTER_KEY_PREVIOUS) return config.HOIST_MASTER_KEY_PREVIOUS.split(',').map((k) => parseMasterKey(k.trim()));
  const file = masterKeyFiles(config).previous;
  if (config.HOIST_MASTER_KEY || !existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).map(parseMasterKey);
}

export function masterKeyFrom(config: Config, mode: Mode): Buffer {
  if (config.HOIST_MASTER_KEY) return parseMasterKey(config.HOIST_MASTER_KEY);
  if (mode !== 'console' && mode !== 'start' && mode !== 'cli') throw new HoistError('config_invalid', 'HOIST_MASTER_KEY is required');
  const dir = resolve(config.HOIST_DATA_DIR);
  const file = join(dir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return parseMasterKey(readFileSync(file, 'utf8').trim());
}

export async function openDb(config: Config): Promise<DbHandle> {
  const dbh = await createDb({
    url: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : join(resolve(config.HOIST_DATA_DIR), 'pg'),
    prepare: config.HOIST_PG_PREPARE === 'on',
  });
  try {
    await dbh.ping();
    await dbh.migrate();
  } catch (cause) {
    await dbh.close().catch(() => undefined);
    throw new HoistError('service_unavailable', `PostgreSQL not reachable at ${dbh.label}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return dbh;
}

async function checkRedis(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  // connect() rejects with the failure we report below; the duplicate 'error' event is not news.
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
  } catch (cause) {
    throw new HoistError('service_unavailable', `Redis not reachable at ${safeUrl(url)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    r.disconnect();
  }
}

export async function openServices(config: Config, mode: Mode): Promise<Services> {
  const masterKey = masterKeyFrom(config, mode);
  let redisUrl = config.REDIS_URL;
  let stopRedis: (() => Promise<void>) | undefined;
  if (!redisUrl) {
    const embedded = await startEmbeddedRedis();
    redisUrl = embedded.url;
    stopRedis = embedded.stop;
  }
  try {
    await checkRedis(redisUrl);
    const dbh = await openDb(config);
    return {
      dbh, redisUrl, masterKey, previousMasterKeys: previousMasterKeysFrom(config),
      async close() {
        await dbh.close();
        await stopRedis?.();
      },
    };
  } catch (e) {
    await stopRedis?.();
    throw e;
  }
}
