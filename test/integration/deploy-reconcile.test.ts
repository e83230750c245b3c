/**
 * The reconciler against the real engine: a replica stopped behind Hoist's back is started
 * again, replicas removed behind its back are created again (with the app's sealed env, and
 * the stable endpoint follows them), a container Hoist created that belongs to no app is
 * removed, another installation's containers are left alone, and the drift is reported in
 * the app's thread.
 */
import Dockerode from 'dockerode';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { DeployRepo } from '../../db/deploy-repo.ts';
import { Store } from '../../db/repo.ts';
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
const onceTag = `hoist-demo/httpd:once-${uid('')}`;
let h: Awaited<ReturnType<typeof startHarness>>;

beforeAll(async () => {
  await demoImage(docker, '1');
  h = await startHarness({ deployer });
});
afterAll(async () => {
  await h?.stop();
  await cleanupTenant(docker, stranger);
  await docker.getImage(onceTag).remove().catch(() => undefined);
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

  it('creates replicas removed behind its back again, from the deployment and the sealed env; the endpoint follows', async () => {
    const dep = await h.propose('alice', 'deploy api image hoist-demo/httpd:1 port 8080 replicas 2');
    await h.decide('alice', 'approve', dep);
    await h.chat.waitFor(/✅ api is running on :\d+/);
    const set = await h.propose('alice', 'set GREETING=hello-from-the-vault on api');
    await h.decide('alice', 'approve', set);
    const port = Number((await h.chat.waitFor(/Set GREETING on api\. api is running on :(\d+)/))[1]);
    const api = async () => (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'api');
    const serves = async () => expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/Hello from Hoist/);
    // The real wiring (workers/main.ts); the app must look settled (older than the grace period).
    const reconcile = async () => {
      await h.fx.dbh.db.execute(sql`update apps set updated_at = now() - interval '10 minutes' where tenant_id = ${h.tenantId}`);
      // A pass already under way may have read the apps before they were aged: two passes, one report.
      const [a, b] = [await h.workers!.reconciler!.runNow(), await h.workers!.reconciler!.runNow()];
      return [...(a?.recreated ?? []), ...(b?.recreated ?? [])];
    };

    const [gone, kept] = await api();
    await docker.getContainer(gone!.Id).remove({ force: true });
    const one = await reconcile();
    expect(one).toEqual([gone!.Names[0]!.slice(1)]);
    const after = await api();
    expect(after.map((c) => c.State)).toEqual(['running', 'running']);
    expect(after.map((c) => c.Id)).toContain(kept!.Id); // what served was not touched
    const fresh = after.find((c) => c.Id !== kept!.Id)!;
    expect((await docker.getContainer(fresh.Id).inspect()).Config.Env).toContain('GREETING=hello-from-the-vault');
    await serves();
    await h.chat.waitFor(/Reconciler: api had 1 of 2 replicas \(deployment dep-\w+\); created 1 replica again, healthy/);

    await Promise.all(after.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    const all = await reconcile();
    expect(all).toHaveLength(2);
    expect((await api()).map((c) => c.State)).toEqual(['running', 'running']);
    await serves();
    await h.chat.waitFor(/Reconciler: api had 0 of 2 replicas .*created 2 replicas again, healthy/);
  });

  it('a replica that cannot be created again (its image is gone) is reported; what still serves is not touched', async () => {
    const [repo, tag] = onceTag.split(':') as [string, string];
    await docker.getImage('hoist-demo/httpd:1').tag({ repo, tag });
    const id = await h.propose('alice', `deploy once image ${onceTag} port 8080 replicas 2`);
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/✅ once is running/);
    const once = async () => (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'once');
    const [gone, kept] = await once();
    await docker.getContainer(gone!.Id).remove({ force: true });
    await docker.getImage(onceTag).remove(); // untags only: the running replica keeps its image
    const results = createResultPublisher({ redisUrl: TEST_REDIS_URL, prefix: h.prefix });
    const db = h.fx.dbh.db;
    try {
      const report = await reconcileOnce({
        deploys: new DeployRepo(db), deployers: [deployer], results, logger: createLogger({ level: 'silent' }),
        orphanGraceMs: 0, recreate: { store: new Store(db), sealer: new Sealer(db, new Keyring(h.services.masterKey)), deployerOf: () => deployer },
      });
      expect(report.recreated).toEqual([]);
      expect(report.missing).toEqual(['once: 1/2']);
    } finally {
      await results.close();
    }
    expect((await once()).map((c) => [c.Id, c.State])).toEqual([[kept!.Id, 'running']]);
    await h.chat.waitFor(/Reconciler: once had 1 of 2 replicas and could not create the missing ones again: Image hoist-demo\/httpd:once-\w+ is not on the Docker engine/);
  });

  it('a stopped app stays stopped: the reconciler stops a replica started behind its back', async () => {
    const id = await h.propose('alice', 'stop web');
    await h.decide('alice', 'approve', id);
    await h.chat.waitFor(/✅ web stopped/);
    const [web] = (await h.containers()).filter((c) => c.Labels['hoist.app'] === 'web');
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
