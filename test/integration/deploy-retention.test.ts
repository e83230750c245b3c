/**
 * Retention of built images (HOIST_KEEP_DEPLOYMENTS=2): after each successful deploy of an
 * app built from git, the images of its last 2 good deployments stay (rollback is one click)
 * and older Hoist-built images of that app are removed; deployment rows stay as history.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { startWorkers } from '../../workers/main.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';
import { TEST_REDIS_URL } from '../fixtures/services.ts';

let h: Awaited<ReturnType<typeof startHarness>>;
let workers: Awaited<ReturnType<typeof startWorkers>>;
const repo = mkdtempSync(join(tmpdir(), 'hoist-keep-'));
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo }).toString().trim();

beforeAll(async () => {
  h = await startHarness({ workers: false });
  await demoImage(h.docker, '1');
  const config = parseConfig({ DATABASE_URL: h.fx.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent', HOIST_KEEP_DEPLOYMENTS: '2' }, 'cli');
  workers = await startWorkers({ config, services: h.services, logger: createLogger({ level: 'silent' }), clock: h.clock, prefix: h.prefix });
  git('init', '--quiet', '-b', 'main');
  writeFileSync(join(repo, 'Dockerfile'), 'FROM hoist-demo/httpd:1\nCOPY index.html /www/index.html\n');
});
afterAll(async () => {
  await workers?.close();
  await h?.stop();
  rmSync(repo, { recursive: true, force: true });
});

const builtImages = async () =>
  (await h.docker.listImages({ filters: { label: [`hoist.tenant=${h.tenantId}`, 'hoist.built=1'] } }))
    .map((i) => i.Labels['hoist.deployment']!).sort();

describe('last-N retention', () => {
  it('keeps the images of the last 2 good deployments, removes older built ones, and rollback uses a kept one', async () => {
    const deps: string[] = [];
    for (const v of [1, 2, 3, 4]) {
      writeFileSync(join(repo, 'index.html'), `v${v}\n`);
      git('add', '.');
      git('commit', '--quiet', '-m', `v${v}`);
      const id = await h.propose('alice', `deploy web from file://${repo} port 8080`);
      await h.decide('alice', 'approve', id);
      await h.chat.waitFor(new RegExp(`✅ web is running on :\\d+ .*dep-${id.slice(4)}`), 90_000);
      deps.push(`dep-${id.slice(4)}`);
    }
    expect(await builtImages()).toEqual([deps[2], deps[3]].sort());
    // History keeps every row.
    expect((await h.bot.store.deploymentsOf(h.tenantId, 'web', 50)).map((d) => d.id).sort()).toEqual([...deps].sort());
    const back = await h.propose('alice', 'rollback web');
    await h.decide('alice', 'approve', back);
    const m = await h.chat.waitFor(new RegExp(`✅ web is running on :(\\d+) .*dep-${back.slice(4)}`), 60_000);
    expect(await (await fetch(`http://127.0.0.1:${m[1]}/`)).text()).toBe('v3\n');
    // The rollback runs deployment 3's image: it counts as kept, so it is not pruned.
    expect(await builtImages()).toEqual([deps[2], deps[3]].sort());
  });
});
