/**
 * The README demo, end to end through the real CLI: `hoist console` on a real PostgreSQL
 * database, its own embedded redis-server and the real Docker engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSession } from '../fakes/console-session.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { freshDatabase } from '../fixtures/services.ts';

const docker = new Dockerode();
let fx: Awaited<ReturnType<typeof freshDatabase>>;
let dataDir: string;
let s: ConsoleSession;

const page = async (port: string) => (await fetch(`http://127.0.0.1:${port}/`)).text();

beforeAll(async () => {
  fx = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'hoist-e2e-'));
  await demoImage(docker, '1');
  await demoImage(docker, '2');
  await cleanupTenant(docker, 'console:local');
  s = new ConsoleSession(['console', '--user', 'alice'], { DATABASE_URL: fx.url, REDIS_URL: undefined, HOIST_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  await s.waitFor(/Hoist console — you are alice/);
});

afterAll(async () => {
  if (s && s.proc.exitCode === null) s.proc.kill('SIGKILL');
  await cleanupTenant(docker, 'console:local');
  await fx?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('hoist console, end to end', () => {
  it('deploys, answers read-only queries, rolls back, scales, stops and starts a real container', async () => {
    s.send('deploy web image hoist-demo/httpd:1 port 8080');
    await s.waitFor(/Proposal: Deploy web[\s\S]*image: hoist-demo\/httpd:1[\s\S]*expires/);
    const id = (await s.waitFor(/^(act-[a-z0-9]+)$/m))[1]!;
    s.send(`approve ${id}`);
    await s.waitFor(/Approved by console:alice/);
    await s.waitFor(/waiting for health|healthy/i);
    let port = (await s.waitFor(/web is running on :(\d+)/))[1]!;
    expect(await page(port)).toMatch(/Hello from Hoist demo 1/);

    await s.proposeAndApprove('deploy web image hoist-demo/httpd:2');
    port = (await s.waitFor(/web is running on :(\d+)/))[1]!;
    expect(await page(port)).toMatch(/demo 2/);

    s.send('status');
    await s.waitFor(/Status:[\s\S]*web .*running/);
    s.send('apps');
    await s.waitFor(/Apps:\n\s+web\s+hoist-demo\/httpd:2/);
    s.send('history web');
    await s.waitFor(/History of web[\s\S]*hoist-demo\/httpd:2[\s\S]*hoist-demo\/httpd:1/);
    s.send('logs web 20');
    await s.waitFor(/Last 20 log lines of web|web has no log output yet/);

    await s.proposeAndApprove('rollback web');
    port = (await s.waitFor(/web is running on :(\d+)/))[1]!;
    expect(await page(port)).toMatch(/demo 1/);

    await s.proposeAndApprove('restart web');
    await s.waitFor(/web restarted \(1 replica\)/);

    // One stable port (the proxy) in front of both replicas, the same across deployments.
    await s.proposeAndApprove('scale web to 2');
    const two = await s.waitFor(/web is running on :(\d+) \(hoist-demo\/httpd:1, 2 replicas/);
    expect(two[1]).toBe(port);
    expect(await page(two[1]!)).toMatch(/demo 1/);
    expect(await page(two[1]!)).toMatch(/demo 1/);

    await s.proposeAndApprove('stop web');
    await s.waitFor(/web stopped \(2 replicas\)/);
    await expect(page(two[1]!)).rejects.toThrow();

    await s.proposeAndApprove('start web');
    const started = await s.waitFor(/web started and is running on :(\d+)/);
    expect(await page(started[1]!)).toMatch(/demo 1/);
  });

  it('cancels, refuses a second approval, and answers nonsense with help', async () => {
    s.send('restart web');
    const id = (await s.waitFor(/^(act-[a-z0-9]+)$/m))[1]!;
    s.send(`cancel ${id}`);
    await s.waitFor(/Cancelled by console:alice/);
    s.send(`approve ${id}`);
    await s.waitFor(new RegExp(`Action ${id} was cancelled`));
    s.send('please make it fast');
    await s.waitFor(/I don't know "please"[\s\S]*help/);
    s.send('help');
    await s.waitFor(/deploy <app>/);
    s.send(':user bob');
    await s.waitFor(/You are now bob/);
  });

  it('exits 0 at end of input once running actions have reported', async () => {
    await s.proposeAndApprove('restart web');
    expect(await s.close()).toBe(0);
    expect(s.out).toMatch(/web restarted/);
  });
});

describe('hoist console with piped stdin', () => {
  it('reads a whole script non-interactively', async () => {
    const p = new ConsoleSession(['console'], { DATABASE_URL: fx.url, HOIST_DATA_DIR: dataDir });
    p.send('apps');
    p.send('history web');
    expect(await p.close()).toBe(0);
    expect(p.out).toMatch(/Apps:\n\s+web/);
    expect(p.out).toMatch(/History of web/);
  });
});
