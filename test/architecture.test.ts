/**
 * The import rules of ARCHITECTURE.md, checked by reading the sources: the bot never
 * reaches into workers/ (except the contract) or Docker; core and contract stay SDK-free;
 * adapters don't import each other; only composition roots read process.env.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Runtime imports only: `import type` is erased and carries no dependency. */
function imports(file: string): string[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)) {
    const spec = m[1] ?? m[2]!;
    out.push(spec.startsWith('.') ? relative(ROOT, join(ROOT, file, '..', spec)) : spec);
  }
  return out;
}

const violations = (dir: string, bad: (spec: string, file: string) => boolean) =>
  files(dir).flatMap((f) => imports(f).filter((s) => bad(s, f)).map((s) => `${f} → ${s}`));

describe('architecture', () => {
  it('bot/ imports nothing from workers/ but the contract', () => {
    // bot/cli.ts is the entry point of both processes (`hoist start` runs them together).
    expect(violations('bot', (s, f) => f !== 'bot/cli.ts' && s.startsWith('workers/') && !s.startsWith('workers/contract/'))).toEqual([]);
  });
  it('bot/ never touches Docker', () => {
    expect(violations('bot', (s, f) => f !== 'bot/cli.ts' && (s === 'dockerode' || s.startsWith('workers/')) && !s.startsWith('workers/contract/'))).toEqual([]);
  });
  it('bot/core and workers/contract import no SDKs or infrastructure', () => {
    const ok = (s: string) => s === 'zod' || s.startsWith('node:') || s.startsWith('bot/core/') || s.startsWith('workers/contract/');
    expect(violations('bot/core', (s) => !ok(s))).toEqual([]);
    expect(violations('workers/contract', (s) => !ok(s))).toEqual([]);
  });
  it('the pipeline reaches the database only through types (ports are passed in)', () => {
    expect(violations('bot/pipeline', (s) => s.startsWith('db/') || ['postgres', 'bullmq', 'ioredis', '@electric-sql/pglite'].includes(s))).toEqual([]);
  });
  it('adapters do not import each other', () => {
    for (const a of ['console', 'slack', 'discord']) {
      let dir: string;
      try { dir = `bot/adapters/${a}`; files(dir); } catch { continue; }
      expect(violations(dir, (s) => s.startsWith('bot/adapters/') && !s.startsWith(`${dir}/`))).toEqual([]);
    }
  });
  it('process.env is read only in config, main and CLI entry points', () => {
    const allowed = /(^|\/)(config|main|cli)\.ts$/;
    const readers = ['bot', 'workers', 'db'].flatMap(files).filter((f) => !allowed.test(f) && /process\.env/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(readers).toEqual([]);
  });
  it('no console.log outside the console adapter, CLI and bench', () => {
    const bad = ['bot', 'workers', 'db'].flatMap(files)
      .filter((f) => !f.startsWith('bot/adapters/console/') && !/cli\.ts$/.test(f))
      .filter((f) => /console\.log\(/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(bad).toEqual([]);
  });
});
