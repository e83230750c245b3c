/**
 * The reconciler against the real engine: a replica stopped behind Hoist's back is started
 * again, a container Hoist created that belongs to no app is removed, another installation's
 * containers are left alone, and the drift is reported in the app's thread.
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { createResultPublisher } from '../../bot/infra/queue.ts';
import { DockerDeployer } from '../../workers/deploy/docker-deployer.ts';
import { reconcileOnce } from '../../workers/deploy/reconciler.ts';
import { startHarness } from '../fixtures/harness.ts';
import { cleanupTenant, demoImage } from '../fixtures/images.ts';
import { TEST_REDIS_URL, uid } from '../fixtures/services.ts';

const docker = new Dockerode();
const deployer = new DockerDeployer(docker, { healthTimeoutMs: 20_000, stopTimeoutSec: 1 });
const stranger = uid('stranger-');
let h: Awaited<ReturnType<typeof startHarness>>;

beforeAll(async () => {
  await demoImage(docker, '1');
  h = await startHarness({ deployer });
});
afterAll(async () => {
  await h?.stop();
  await cleanupTenant(docker, stranger);
});

describe('reconciler', () => {
  it('restarts a stopped replica, removes an orphan, leaves strangers alone, reports drift', async () => {
    const id = await h.propose('alice', 'deploy web image hoist-demo/httpd:1 port 8080');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/✅ web is running/);
    const [web] = (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'web');
    await docker.getContainer(web!.Id).stop({ t: 1 });

    const spec = (tenantId: string, app: string) => ({
      tenantId, app, deploymentId: 'dep-orphan', actionId: 'act-orphan', image: 'hoist-demo/httpd:1', replicas: 1, env: {},
    });
    await deployer.deploy(spec(h.tenantId, 'ghost'), () => undefined);
    await deployer.deploy(spec(stranger, 'ghost'), () => undefined);

    const results = createResultPublisher({ redisUrl: TEST_REDIS_URL, prefix: h.prefix });
    try {
      const report = await reconcileOnce({
        deploys: new DeployRepo(h.fx.dbh.db), deployers: [deployer], results,
        logger: createLogger({ level: 'silent' }), orphanGraceMs: 0,
      });
      expect(report.restarted).toEqual([web!.Names[0]!.slice(1)]);
      expect(report.removed.filter((n) => n.includes('ghost'))).toHaveLength(1);
    } finally {
      await results.close();
    }
    expect((await docker.getContainer(web!.Id).inspect()).State.Running).toBe(true);
    const mine = await h.containers();
    expect(mine.map((c) => c.Labels['hoist.app'])).toEqual(['web']);
    const theirs = await docker.listContainers({ all: true, filters: { label: [`hoist.tenant=${stranger}`] } });
    expect(theirs).toHaveLength(1);
    await h.chat.waitFor(/Reconciler: web: replica 1 \(exited\) had stopped; started again and healthy/);
  });

  it('a stopped app stays stopped: the reconciler stops a replica started behind its back', async () => {
    const id = await h.propose('alice', 'stop web');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/✅ web stopped/);
    const [web] = await h.containers();
    await docker.getContainer(web!.Id).start();
    const results = createResultPublisher({ redisUrl: TEST_REDIS_URL, prefix: h.prefix });
    try {
      const report = await reconcileOnce({ deploys: new DeployRepo(h.fx.dbh.db), deployers: [deployer], results, logger: createLogger({ level: 'silent' }) });
      expect(report.stopped).toHaveLength(1);
    } finally {
      await results.close();
    }
    expect((await docker.getContainer(web!.Id).inspect()).State.Running).toBe(false);
  });
});
