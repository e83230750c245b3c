/**
 * Composition root of the workers process: Docker access (default engine, named targets,
 * source builder), the action job processor, the reconciler and the result publisher.
 * Workers never hold chat tokens.
 */
import { Queue, type Job } from 'bullmq';
import Dockerode from 'dockerode';
import { DeployRepo, type AppDeploySettings } from '../db/deploy-repo.ts';
import { Keyring, Sealer } from '../db/crypto.ts';
import { Store } from '../db/repo.ts';
import { createAuditLog } from '../db/audit.ts';
import type { Config } from '../bot/config.ts';
import { systemClock, type Clock, type Logger } from '../bot/core/types.ts';
import { createActionQueue, createResultPublisher, createWorker, recordQueueDepth, redisConnection } from '../bot/infra/queue.ts';
import { OutboxRepo } from '../db/outbox.ts';
import { hoistMetrics } from '../bot/infra/http-server.ts';
import type { AuditLog } from '../bot/core/ports.ts';
import { startOutboxReconciler, type ReconcilerOptions } from './outbox/reconciler.ts';
import { startRelay, type RelayOptions } from './outbox/relay.ts';
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
import { deployerFor, refreshRoute } from './deploy/actions.ts';
import { busFor } from './proxy/bus.ts';
import { startProxy, targetHostFor } from './proxy/proxy.ts';
import { createEndpoints, parsePortRange } from './proxy/router.ts';

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
  /**
   * Serve the apps' stable endpoints from this process (default true; `hoist workers` passes
   * false and production runs `hoist proxy`). With HOIST_PROXY_PORTS=off there are none.
   */
  proxy?: boolean;
  /**
   * The outbox relay and reconciler (workers/outbox/) run here, next to the queue they feed;
   * `false` turns both off (tests that drive them by hand). Several workers processes run
   * several relays safely.
   */
  outbox?: false | { relay?: RelayOptions; reconcile?: ReconcilerOptions };
}

/**
 * Deploy metrics from the audit events the processor writes exactly once per action
 * (`action.started`, then `action.succeeded|failed`, both guarded by conditional updates).
 */
function meteredAudit(audit: AuditLog): AuditLog {
  const metrics = hoistMetrics();
  const started = new Map<string, number>();
  return {
    async append(e) {
      await audit.append(e);
      if (!e.actionId) return;
      if (e.type === 'action.started') started.set(e.actionId, performance.now());
      else if (e.type === 'action.succeeded' || e.type === 'action.failed') {
        const outcome = e.type.slice('action.'.length);
        const kind = String(e.data?.kind ?? 'unknown');
        metrics.deploys.inc({ kind, outcome });
        const t0 = started.get(e.actionId);
        started.delete(e.actionId);
        if (t0 !== undefined) metrics.rolloutSeconds.observe({ kind, outcome }, (performance.now() - t0) / 1000);
      }
    },
  };
}

export async function startWorkers(o: WorkerOptions) {
  const clock = o.clock ?? systemClock;
  const dockerHost = o.config.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const docker = new Dockerode(dockerOptionsFor(dockerHost));
  const checkpoint = fileCheckpoint(o.config.HOIST_TEST_PAUSE_AT, o.config.HOIST_TEST_PAUSE_DIR);
  const deployer = o.deployer ?? new DockerDeployer(docker, { publishAddress: o.config.HOIST_PUBLISH_ADDRESS, dockerHostLabel: dockerHost, checkpoint });
  const targets = createTargets(docker, o.config.HOIST_TARGETS, { publishAddress: o.config.HOIST_PUBLISH_ADDRESS, checkpoint });
  const deploys = new DeployRepo(o.services.dbh.db);
  const range = parsePortRange(o.config.HOIST_PROXY_PORTS);
  const bus = busFor(o.services.dbh.db);
  const publish = o.config.HOIST_PUBLISH_ADDRESS;
  const proxy = range && o.proxy !== false
    ? await startProxy({ routes: deploys, bus, listenHost: publish, targetHost: targetHostFor(publish), drainMs: o.config.HOIST_PROXY_DRAIN_MS, logger: o.logger })
    : undefined;
  const endpoints = range
    ? await createEndpoints({ deploys, range, listenHost: publish, local: proxy, bus, ackTimeoutMs: o.config.HOIST_PROXY_DRAIN_MS + 5_000, logger: o.logger })
    : undefined;
  const store = new Store(o.services.dbh.db);
  const results = createResultPublisher({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  // Result events are derived from PostgreSQL: a publish that fails while Redis is down must not
  // fail the action itself. Lost progress lines stay lost; a lost result is published again by
  // the outbox reconciler from the action row (reported_at unset).
  const resultSink = {
    async publish(e: Parameters<typeof results.publish>[0]) {
      await results.publish(e).catch((err: unknown) => o.logger.warn({ action: e.actionId, kind: e.kind, err: err instanceof Error ? err.message : String(err) }, 'result.publish_deferred'));
    },
  };
  const sealer = new Sealer(o.services.dbh.db, new Keyring(o.services.masterKey, o.services.previousMasterKeys));
  const processAction = createActionProcessor({
    store,
    deploys, deployer, targets, endpoints, builder: new DockerSourceBuilder(docker, { env: process.env }),
    sealer,
    results: resultSink, clock, logger: o.logger,
    audit: meteredAudit(createAuditLog(o.services.dbh.db, clock, sealer)),
    redact: redactForLog,
    lease: { maxWaitMs: o.config.HOIST_ROLLOUT_WAIT_MAX_MS, ...o.lease },
    checkpoint,
    keepDeployments: o.config.HOIST_KEEP_DEPLOYMENTS,
    allowedRegistries: o.config.HOIST_ALLOWED_REGISTRIES,
  });
  const handle = async (job: Job<ActionJob>, token?: string) => processAction(job, token);
  const worker = createWorker(QUEUES.actions, { redisUrl: o.services.redisUrl, prefix: o.prefix }, handle, o.config.HOIST_WORKER_CONCURRENCY, o.workerTiming);
  // Reads have a lane of their own: a `status` never waits behind rollouts holding every change slot.
  const readsWorker = createWorker(QUEUES.reads, { redisUrl: o.services.redisUrl, prefix: o.prefix }, handle, o.config.HOIST_READ_CONCURRENCY, o.workerTiming);
  for (const w of [worker, readsWorker]) w.on('failed', (job, err) => o.logger.warn({ job: job?.id, err: err.message }, 'job.failed'));
  const reconciler = o.reconcile === false ? undefined
    : startReconciler({
      deploys, results, logger: o.logger,
      // Swarm converges by itself; named Docker engines are watched like the default one.
      deployers: [deployer, ...new Set(Object.values(targets).filter((t) => t instanceof DockerDeployer))],
      // A replica started again may have a new host port: the endpoint follows it.
      restarted: (tenantId, app, reps) => refreshRoute({ store, deploys, endpoints }, tenantId, app, reps).then(() => undefined),
      recreate: {
        store, sealer, allowedRegistries: o.config.HOIST_ALLOWED_REGISTRIES,
        deployerOf: (app) => {
          try {
            return deployerFor({ deployer, targets }, (app.settings as AppDeploySettings).target, app.environment);
          } catch {
            return undefined; // a target no longer configured: the next deploy says so
          }
        },
      },
    }, o.config.HOIST_RECONCILE_INTERVAL_MS);
  const producer = createActionQueue({ redisUrl: o.services.redisUrl, prefix: o.prefix });
  const outboxRepo = new OutboxRepo(o.services.dbh.db);
  const lookup = (q: Queue) => ({
    state: (id: string) => q.getJobState(id) as Promise<string>,
    retry: async (id: string) => { await (await q.getJob(id))?.retry('failed'); },
  });
  const jobs = {
    state: (id: string, kind: string) => lookup(producer.of(kind)).state(id),
    retry: (id: string, kind: string) => lookup(producer.of(kind)).retry(id),
    publish: (actionId: string, tenantId: string, kind: string) => producer.enqueue(actionId, tenantId, kind),
  };
  const resultsConnection = redisConnection(o.services.redisUrl, true);
  resultsConnection.on('error', () => undefined); // the reconciler logs its failed pass
  const resultsQueue = new Queue(QUEUES.results, { connection: resultsConnection, prefix: o.prefix });
  const relay = o.outbox === false ? undefined : startRelay(outboxRepo, jobs, o.logger, o.outbox?.relay);
  const outboxReconciler = o.outbox === false ? undefined
    : startOutboxReconciler({ db: o.services.dbh.db, repo: outboxRepo, jobs, results, resultJobs: lookup(resultsQueue), logger: o.logger }, o.outbox?.reconcile);
  const metrics = hoistMetrics();
  const pinger = redisConnection(o.services.redisUrl, true);
  pinger.on('error', () => undefined); // readiness reports it
  // Outbox backlog and queue depth for /metrics, read every few seconds (never on the scrape itself).
  const gauges = setInterval(() => {
    outboxRepo.pending().then((n) => metrics.outboxPending.set(n), () => undefined);
    recordQueueDepth([producer.queue, producer.reads], metrics.queueDepth);
  }, 5_000);
  gauges.unref();
  const retention = o.retention === false ? undefined : await startRetentionScheduler({
    db: o.services.dbh.db, sealer, clock, logger: o.logger, prefix: o.prefix,
    connection: () => redisConnection(o.services.redisUrl, false),
  });
  return {
    deployer,
    proxy,
    worker,
    readsWorker,
    reconciler,
    outbox: { repo: outboxRepo, relay, reconciler: outboxReconciler, queue: producer.queue },
    /** Readiness: `docker` alone is added to the bot's checks in `hoist start`; `hoist workers` serves all three. */
    checks: {
      docker: () => docker.ping(),
      postgres: () => o.services.dbh.ping(),
      redis: () => pinger.ping(),
    },
    /**
     * Stops taking jobs and lets running ones finish for up to `graceMs` (then leaves them:
     * their lock expires and another worker re-runs them, which the processor absorbs).
     */
    async close(graceMs = 30_000) {
      clearInterval(gauges);
      await retention?.close();
      await relay?.stop();
      await outboxReconciler?.stop();
      await reconciler?.stop();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        Promise.all([worker.close(), readsWorker.close()]).then(() => true),
        new Promise<boolean>((r) => { timer = setTimeout(() => r(false), graceMs); }),
      ]);
      clearTimeout(timer);
      if (!drained) o.logger.warn({ graceMs }, 'workers.close_timed_out');
      await endpoints?.close();
      await proxy?.close();
      await producer.close();
      await results.close();
      await resultsQueue.close();
      resultsConnection.disconnect();
      pinger.disconnect();
    },
  };
}
