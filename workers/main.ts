/**
 * Composition root of the workers process: Docker access, the action job processor and
 * the result publisher. Workers never hold chat tokens.
 */
import type { Job } from 'bullmq';
import { Sealer } from '../db/crypto.ts';
import { Store } from '../db/repo.ts';
import { createAuditLog } from '../db/audit.ts';
import type { Config } from '../bot/config.ts';
import { systemClock, type Clock, type Logger } from '../bot/core/types.ts';
import { createResultPublisher, createWorker } from '../bot/infra/queue.ts';
import type { Services } from '../bot/infra/services.ts';
import { redactForLog } from '../bot/pipeline/redact/index.ts';
import { QUEUES, type ActionJob } from './contract/index.ts';
import { createDockerDeployer } from './deploy/docker-deployer.ts';
import type { Deployer } from './deploy/deployer.ts';
import { createActionProcessor } from './deploy/processor.ts';

export interface WorkerOptions {
  config: Config;
  services: Services;
  logger: Logger;
  clock?: Clock;
  prefix?: string;
  deployer?: Deployer;
}

export async function startWorkers(o: WorkerOptions) {
  const clock = o.clock ?? systemClock;
  const deployer = o.deployer ?? createDockerDeployer({ dockerHost: o.config.DOCKER_HOST, publishAddress: o.config.HOIST_PUBLISH_ADDRESS });
  const results = createResultPublisher({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const process = createActionProcessor({
    store: new Store(o.services.dbh.db),
    sealer: new Sealer(o.services.dbh.db, o.services.masterKey),
    deployer, results, clock, logger: o.logger,
    audit: createAuditLog(o.services.dbh.db, clock),
    redact: redactForLog,
  });
  const worker = createWorker(QUEUES.actions, { redisUrl: o.services.redisUrl, prefix: o.prefix },
    async (job: Job<ActionJob>) => process(job), o.config.HOIST_WORKER_CONCURRENCY);
  worker.on('failed', (job, err) => o.logger.warn({ job: job?.id, err: err.message }, 'job.failed'));
  return {
    deployer,
    async close() {
      await worker.close();
      await results.close();
    },
  };
}
