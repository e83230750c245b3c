/**
 * Console-mode default: a private redis-server child on a free loopback port, with no
 * persistence and BullMQ's required noeviction policy. Exits with the child.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { HoistError } from '../core/errors.ts';

export const REDIS_MISSING = 'redis-server is not installed: install it (apt-get install -y redis-server) or set REDIS_URL=redis://host:6379';

/** A free TCP port on loopback (the OS picks it; released before we use it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

const ignoreProbeError = (): void => undefined;

export async function startEmbeddedRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (!redisServerInstalled()) throw new HoistError('service_unavailable', REDIS_MISSING);
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes',
  ], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  for (let i = 0; i < 100; i++) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // The failed connect() rejects below and is retried; the 'error' event repeats that same failure.
    r.on('error', ignoreProbeError);
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      break;
    } catch {
      r.disconnect();
      if (child.exitCode !== null) throw new HoistError('service_unavailable', `redis-server exited with code ${child.exitCode}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  return {
    url,
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    },
  };
}
