/**
 * Deploy from a git source: a local repository (file://) with a Dockerfile built on the demo
 * image, built by the real engine, tagged per deployment and labelled with the commit; refs
 * by tag and by commit id; rollback to the earlier build without rebuilding; bad sources
 * refused with a sentence.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployments } from '../../db/schema/index.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';

let h: Awaited<ReturnType<typeof startHarness>>;
const repo = mkdtempSync(join(tmpdir(), 'hoist-repo-'));
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo }).toString().trim();
const shas: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  await demoImage(h.docker, '1');
  git('init', '--quiet', '-b', 'main');
  writeFileSync(join(repo, 'Dockerfile'), 'FROM hoist-demo/httpd:1\nCOPY index.html /www/index.html\nRUN echo built-page-ok\n');
  writeFileSync(join(repo, 'index.html'), 'Built from git v1\n');
  git('add', '.');
  git('commit', '--quiet', '-m', 'v1');
  git('tag', 'v1');
  shas.v1 = git('rev-parse', 'HEAD');
  writeFileSync(join(repo, 'index.html'), 'Built from git v2\n');
  git('commit', '--quiet', '-am', 'v2');
  shas.v2 = git('rev-parse', 'HEAD');
});
afterAll(async () => {
  await h?.stop();
  rmSync(repo, { recursive: true, force: true });
});

async function page(re: RegExp): Promise<string> {
  const m = await h.chat.waitFor(re, 90_000);
  const res = await fetch(`http://127.0.0.1:${m[1]}/`);
  return res.text();
}

describe('deploy from a git source', () => {
  it('builds a tag: card shows source and ref, build output streamed, image tagged and labelled, SHA recorded', async () => {
    const id = await h.propose('alice', `deploy web from file://${repo}#v1 port 8080`);
    const card = h.chat.said.find((s) => s.msg?.kind === 'card' && s.text.includes(id))!;
    expect(card.text).toContain(`source: file://${repo} at v1 (built by Hoist)`);
    await h.decide('alice', 'approve', id);
    const dep = `dep-${id.slice(4)}`;
    expect(await page(new RegExp(`✅ web is running on :(\\d+) \\(hoist-build/[a-z0-9-]+-web:${dep} built from file://`))).toBe('Built from git v1\n');
    expect(h.chat.all()).toMatch(/build: Step 1\/\d+ : FROM hoist-demo\/httpd:1/);
    expect(h.chat.all()).toMatch(/build: built-page-ok/);
    const [row] = await h.fx.dbh.db.select().from(deployments).where(eq(deployments.id, dep));
    expect(row).toMatchObject({ commitSha: shas.v1, source: `file://${repo}`, status: 'succeeded' });
    const img = await h.docker.getImage(row!.image).inspect();
    expect(img.Config.Labels).toMatchObject({ 'hoist.commit': shas.v1, 'hoist.tenant': h.tenantId, 'hoist.deployment': dep, 'hoist.built': '1' });
  });

  it('builds a commit id, and a bare "deploy web" rebuilds the kept source', async () => {
    const id = await h.propose('alice', `deploy web from file://${repo}#${shas.v2}`);
    await h.decide('alice', 'approve', id);
    expect(await page(new RegExp(`✅ web is running on :(\\d+) .*dep-${id.slice(4)}`))).toBe('Built from git v2\n');
    const [row] = await h.fx.dbh.db.select().from(deployments).where(eq(deployments.id, `dep-${id.slice(4)}`));
    expect(row?.commitSha).toBe(shas.v2);
    const again = await h.propose('alice', 'deploy web');
    expect(h.chat.said.find((s) => s.msg?.kind === 'card' && s.text.includes(again))?.text).toContain(`at ${shas.v2}`);
    await h.decide('alice', 'cancel', again);
  });

  it('rollback goes back to the earlier build without rebuilding', async () => {
    const id = await h.propose('alice', 'rollback web');
    await h.decide('alice', 'approve', id);
    expect(await page(new RegExp(`✅ web is running on :(\\d+) .*dep-${id.slice(4)}`))).toBe('Built from git v1\n');
    const lines = h.chat.said.filter((s) => s.text.includes(`dep-${id.slice(4)}`)).map((s) => s.text).join('\n');
    expect(lines).not.toMatch(/build:/);
  });

  it('refuses a source that is not a git URL, and fails a missing ref with a sentence', async () => {
    await h.say('alice', 'deploy web from ftp://example/repo');
    await h.chat.waitFor(/"ftp:\/\/example\/repo" is not a git URL Hoist builds from/);
    const id = await h.propose('alice', `deploy web from file://${repo}#nope`);
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/❌ Could not fetch file:\/\/.*#nope: no branch or tag named nope/, 60_000);
  });
});
