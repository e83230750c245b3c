/**
 * `deploy … health <path>`: the path is shown on the card, kept as the app's setting and
 * probed by the health gate. busybox httpd answers / with 200 but /healthz with 404 unless
 * the file exists, so the same app fails or passes the gate by that one file.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { DockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { createTar } from '../../scripts/tar.ts';
import { startHarness } from '../fixtures/harness.ts';
import { demoImage } from '../fixtures/images.ts';
import Dockerode from 'dockerode';

const docker = new Dockerode();
const WITH_HEALTHZ = 'hoist-demo/httpd:healthz';
let h: Awaited<ReturnType<typeof startHarness>>;

beforeAll(async () => {
  await demoImage(docker, '1');
  const ctx = createTar([
    { name: 'Dockerfile', data: 'FROM hoist-demo/httpd:1\nCOPY healthz /www/healthz\nLABEL hoist.demo="1"\n' },
    { name: 'healthz', data: 'ok\n' },
  ]);
  const stream = await docker.buildImage(Readable.from([ctx]), { t: WITH_HEALTHZ, rm: true });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out))));
  h = await startHarness({ deployer: new DockerDeployer(docker, { healthTimeoutMs: 4_000, stopTimeoutSec: 1 }) });
});
afterAll(async () => { await h?.stop(); });

describe('HTTP health path', () => {
  it('fails the rollout with a clear sentence when GET /healthz answers 404; nothing is left running', async () => {
    const id = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080 health /healthz');
    const card = h.chat.said.find((s) => s.msg?.kind === 'card' && s.text.includes(id))!;
    expect(card.text).toContain('health check: GET /healthz');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/❌ web did not become healthy: replica 1 timed out after 4s waiting for GET \/healthz on port 8080 to answer 2xx \(last answer: 404\)/, 30_000);
    expect(await h.containers()).toHaveLength(0);
  });

  it('passes when the path exists, and keeps the path as the app setting for later deploys', async () => {
    const id = await h.propose('alice', `deploy web image ${WITH_HEALTHZ} port 8080 health /healthz`);
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(new RegExp(`✅ web is running on :\\d+ .*dep-${id.slice(4)}`), 30_000);
    expect((await new DeployRepo(h.fx.dbh.db).appSettings(h.tenantId, 'web')).healthPath).toBe('/healthz');
    // A later deploy without "health" still probes /healthz: the image without the file fails it,
    // and the old version keeps serving.
    const bad = await h.propose('alice', 'deploy web 1');
    await h.decide('alice', 'approve', bad);
    await h.chat.waitFor(new RegExp(`❌ web did not become healthy: .*GET /healthz.*404`), 30_000);
    const running = await h.containers();
    expect(running).toHaveLength(1);
    expect(running[0]!.Image).toBe(WITH_HEALTHZ);
  });
});
