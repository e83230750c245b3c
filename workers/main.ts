/**
 * Composition root of the workers process: Docker access (default engine, named targets,
 * source builder), the action job processor, the reconciler and the result publisher.
 * Workers never hold chat tokens.
 */
import type { Job } from 'bullmq';
import Dockerode from 'dockerode';
import { DeployRepo } from '../db/deploy-repo.ts';
import { Keyring, Sealer } from '../db/crypto.ts';
import { Store } from '../db/repo.ts';
import { createAuditLog } from '../db/audit.ts';
import type { Config } from '../bot/config.ts';
import { systemClock, type Clock, type Logger } from '../bot/core/types.ts';
import { createResultPublisher, createWorker, redisConnection } from '../bot/infra/queue.ts';
import type { Services } from '../bot/infra/services.ts';
import { redactForLog } from '../bot/pipeline/redact/index.ts';
import { QUEUES, type ActionJob } from './contract/index.ts';
import { fileCheckpoint } from './deploy/checkpoint.ts';
import { DockerDeployer } from './deploy/docker-deployer.ts';
import { dockerOptionsFor } from './deploy/docker-support.ts';
import type { Deployer } from './deploy/deployer.ts';
import type { LeaseOptions } from './deploy/lease.ts';
import { createActionProcessor } from './deploy/processor.ts';
import { startRetentionScheduler } from './maintenance/retention-job.ts';
import { startReconciler } from './deploy/reconciler.ts';
import { DockerSourceBuilder } from './deploy/source-build.ts';
import { createTargets } from './deploy/targets.ts';

export interface WorkerOptions {
  config: Config;
  services: Services;
  logger: Logger;
  clock?: Clock;
  prefix?: string;
  deployer?: Deployer;
  /** BullMQ lock/stalled timing (crash tests shorten it). */
  workerTiming?: { lockDuration?: number; stalledInterval?: number; maxStalledCount?: number };
  lease?: Partial<LeaseOptions>;
  /** Run the reconciler (default true). */
  reconcile?: boolean;
  /** Schedule the retention job (default true). */
  retention?: boolean;
}

export async function startWorkers(o: WorkerOptions) {
  const clock = o.clock ?? systemClock;
  const dockerHost = o.config.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const docker = new Dockerode(dockerOptionsFor(dockerHost));
  const checkpoint = fileCheckpoint(o.config.HOIST_TEST_PAUSE_AT, o.config.HOIST_TEST_PAUSE_DIR);
  const deployer = o.deployer ?? new DockerDeployer(docker, { publishAddress: o.config.HOIST_PUBLISH_ADDRESS, dockerHostLabel: dockerHost, checkpoint });
  const targets = createTargets(docker, o.config.HOIST_TARGETS, { publishAddress: o.config.HOIST_PUBLISH_ADDRESS });
  const deploys = new DeployRepo(o.services.dbh.db);
  const results = createResultPublisher({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const sealer = new Sealer(o.services.dbh.db, new Keyring(o.services.masterKey, o.services.previousMasterKeys));
  const process = createActionProcessor({
    store: new Store(o.services.dbh.db),
    deploys, deployer, targets, builder: new DockerSourceBuilder(docker),
    sealer,
    results, clock, logger: o.logger,
    audit: createAuditLog(o.services.dbh.db, clock, sealer),
    redact: redactForLog,
    lease: { maxWaitMs: o.config.HOIST_ROLLOUT_WAIT_MAX_MS, ...o.lease },
    checkpoint,
  });
  const worker = createWorker(QUEUES.actions, { redisUrl: o.services.redisUrl, prefix: o.prefix },
    async (job: Job<ActionJob>, token?: string) => process(job, token), o.config.HOIST_WORKER_CONCURRENCY, o.workerTiming);
  worker.on('failed', (job, err) => o.logger.warn({ job: job?.id, err: err.message }, 'job.failed'));
  const reconciler = o.reconcile === false ? undefined
    : startReconciler({ deploys, deployers: [deployer], results, logger: o.logger }, o.config.HOIST_RECONCILE_INTERVAL_MS);
  const retention = o.retention === false ? undefined : await startRetentionScheduler({
    db: o.services.dbh.db, sealer, clock, logger: o.logger, prefix: o.prefix,
    connection: () => redisConnection(o.services.redisUrl, false),
  });
  return {
    deployer,
    worker,
    reconciler,
    async close() {
      await retention?.close();
      await reconciler?.stop();
      await worker.close();
      await results.close();
    },
  };
}
