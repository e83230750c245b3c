/** The CLI around the LLM: `hoist explain` says which parser answered; `hoist tenant llm` stores settings and a sealed BYO key. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../../db/crypto.ts';
import { LlmRepo } from '../../db/llm-repo.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api.ts';
import { freshDatabase } from '../fixtures/services.ts';

function hoist(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOIST_DATA_DIR: mkdtempSync(join(tmpdir(), 'hoist-llm-cli-')) };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/hoist.mjs', ...args], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

let api: FakeAnthropic;
let fx: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  api = await startFakeAnthropic({ apiKey: 'sk-ant-cli-test-key-000000' });
  fx = await freshDatabase();
});
afterAll(async () => {
  await api?.close();
  await fx?.drop();
});

describe('hoist explain with an LLM', () => {
  it('shows parser: grammar for known forms (no call) and parser: llm when the model answered', async () => {
    api.script({ kind: 'tool', input: { action: 'restart', app: 'worker' } });
    const env = { ANTHROPIC_API_KEY: 'sk-ant-cli-test-key-000000', ANTHROPIC_BASE_URL: api.url };
    const g = await hoist(['explain', 'restart worker'], env);
    expect(g.stdout).toMatch(/parser: {3}grammar/);
    expect(api.requests).toHaveLength(0);
    const l = await hoist(['explain', 'bounce the worker'], env);
    expect(l.stderr).toBe('');
    expect(l.stdout).toMatch(/parser: {3}llm\nintent: {3}\{"action":"restart","app":"worker"\}/);
    expect(api.requests).toHaveLength(1);
    const off = await hoist(['explain', 'bounce the worker'], {});
    expect(off.stdout).toMatch(/parser: {3}grammar/);
  });
});

describe('hoist tenant llm', () => {
  it('switches the LLM on with a model and seals a key read from stdin; the key is never printed', async () => {
    const masterKey = randomBytes(32);
    const env = { DATABASE_URL: fx.url, HOIST_MASTER_KEY: masterKey.toString('base64') };
    const key = 'sk-ant-byo-from-stdin-424242';
    const r = await hoist(['tenant', 'llm', 'slack:TCLI1', '--on', '--model', 'claude-x', '--key-stdin'], env, `${key}\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('slack:TCLI1: llm on, model claude-x, key own (sealed)\n');
    const repo = new LlmRepo(fx.dbh.db);
    const row = await repo.tenantLlm('slack:TCLI1');
    expect(row?.settings).toEqual({ enabled: true, model: 'claude-x' });
    expect(row?.sealedKey?.toString('latin1')).not.toContain(key);
    expect(await new Sealer(fx.dbh.db, masterKey).open('slack:TCLI1', 'llm-key', row!.sealedKey!)).toBe(key);
    const off = await hoist(['tenant', 'llm', 'slack:TCLI1', '--off', '--clear-key'], env);
    expect(off.stdout).toBe('slack:TCLI1: llm off, model claude-x, key server\n');
    const bad = await hoist(['tenant', 'llm', 'nonsense', '--on'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a tenant id/);
  });
});
