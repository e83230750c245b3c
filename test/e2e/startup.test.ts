/** Start-up failures: a missing or unreachable service stops Hoist with one clear line. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../fixtures/services.ts';

const run = promisify(execFile);

async function hoist(args: string[], env: Record<string, string>) {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOIST_DATA_DIR: mkdtempSync(join(tmpdir(), 'hoist-start-')) };
  try {
    const r = await run(process.execPath, ['bin/hoist.mjs', ...args], { env: { ...base, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('start-up', () => {
  it('exits 2 naming Redis and the URL tried (without credentials) when Redis is down', async () => {
    const r = await hoist(['start'], { REDIS_URL: 'redis://:hunter2pass@127.0.0.1:1', DATABASE_URL: TEST_DATABASE_URL });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Redis not reachable at redis:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).not.toContain('hunter2pass');
  });

  it('exits 2 naming PostgreSQL and the URL tried (without credentials) when PostgreSQL is down', async () => {
    const r = await hoist(['start'], { REDIS_URL: TEST_REDIS_URL, DATABASE_URL: 'postgres://hoist:pgsecret99@127.0.0.1:1/hoist' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PostgreSQL not reachable at postgres:\/\/127\.0\.0\.1:1\/hoist/);
    expect(r.stderr).not.toContain('pgsecret99');
  });

  it('exits 2 with how to install redis-server when it is missing and REDIS_URL is unset', async () => {
    const r = await hoist(['console'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/redis-server is not installed: install it \(apt-get install -y redis-server\) or set REDIS_URL/);
  });

  it('names every bad variable at once and never prints secret values', async () => {
    const r = await hoist(['bot'], { SLACK_BOT_TOKEN: 'xoxb-123-456-abcdefghijklmnop', HOIST_MASTER_KEY: 'dG9vc2hvcnQ=', PORT: 'eighty' });
    expect(r.code).toBe(2);
    for (const v of ['HOIST_MASTER_KEY', 'PORT', 'DATABASE_URL', 'REDIS_URL', 'SLACK_SIGNING_SECRET']) expect(r.stderr).toContain(v);
    expect(r.stderr).not.toContain('xoxb-123');
    expect(r.stderr).not.toContain('dG9vc2hvcnQ=');
  });

  it('hoist explain shows the parser and the intent, with secrets redacted', async () => {
    const r = await hoist(['explain', 'deploy', 'api', '1.4.2', 'to', 'staging'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parser:\s+grammar/);
    expect(r.stdout).toContain('{"action":"deploy","app":"api","image":":1.4.2","environment":"staging"}');
  });
});
