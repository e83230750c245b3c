/**
 * Deployer port: everything the workers ask of a container engine, per tenant and app.
 * Every call is idempotent and discovers state from object labels (hoist.tenant,
 * hoist.app, hoist.deployment, hoist.action), never from memory, so a job re-run after a
 * crash converges. Implementations refuse objects whose hoist.tenant is not `tenantId`.
 * Errors are HoistError: docker_unreachable, image_not_found, rollout_unhealthy, tenant_mismatch.
 */
export interface DeploySpec {
  tenantId: string;
  app: string;
  deploymentId: string;
  actionId: string;
  image: string;
  /** Container port to publish and health-check; absent = no port, health by container state. */
  port?: number;
  replicas: number;
  /** Decrypted env values: exist only inside the worker, never logged. */
  env: Record<string, string>;
  /** HTTP path probed for health when the image has no HEALTHCHECK (else TCP). */
  healthPath?: string;
  /** May the image be pulled when it is not on the engine (tenant registry allowlist)? Default true. */
  pull?: boolean;
}

export interface ReplicaInfo {
  containerId: string;
  name: string;
  deploymentId: string;
  state: string; // docker state: running, exited, created, ...
  health?: string; // healthy, unhealthy, starting, or absent when the image has no HEALTHCHECK
  hostPort?: number;
  image: string;
}

export interface DeployResult {
  replicas: ReplicaInfo[];
  /** Published host ports of the new replicas, in replica order. */
  hostPorts: number[];
  /** The app's stable address when the target gives one (host:port), surviving deployments. */
  endpoint?: string;
  /** Host the replicas' ports are reached on, when it is not the proxy's default (a remote engine). */
  replicaHost?: string;
}

/** A replica as the reconciler sees it: any tenant's, found by the hoist.managed label. */
export type ManagedReplica = ReplicaInfo & { tenantId: string; app: string; createdAt: number };

export type ProgressFn = (line: string) => void | Promise<void>;

export interface DeployHooks {
  /**
   * Called once, when every new replica is healthy and before any old one is stopped: the
   * caller points the app's stable endpoint at the new replicas here and resolves when
   * traffic has moved (in-flight connections to the old ones drained). A throw aborts the
   * rollout like a failed health check.
   */
  switchTo?(res: DeployResult): Promise<void>;
  /**
   * Repair in place (the reconciler): bring the deployment back to `replicas` without touching
   * what already serves. A failure removes only the replicas this call created, and other
   * deployments' replicas are left for the reconciler's orphan rule. Swarm ignores it.
   */
  repair?: boolean;
}

export interface Deployer {
  /** Start the new replicas, wait until healthy, switch (hooks), then remove other deployments' replicas of the app. */
  deploy(spec: DeploySpec, progress: ProgressFn, hooks?: DeployHooks): Promise<DeployResult>;
  /** Restart every replica of the app (in place). */
  restart(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]>;
  stop(tenantId: string, app: string): Promise<ReplicaInfo[]>;
  start(tenantId: string, app: string, progress: ProgressFn): Promise<ReplicaInfo[]>;
  status(tenantId: string, app?: string): Promise<Array<ReplicaInfo & { app: string }>>;
  /** Last `lines` lines of combined stdout/stderr across replicas, oldest first (raw: caller redacts). */
  logs(tenantId: string, app: string, lines: number): Promise<string>;
  /** Remove every container (and the network, when `app` is absent) of the tenant, or one app's replicas on this target. */
  remove(tenantId: string, app?: string): Promise<number>;
  /** Engine reachable? Throws docker_unreachable otherwise. */
  ping(): Promise<void>;
  /** Every replica Hoist manages on this target, across tenants (the reconciler's view). */
  listManaged(): Promise<ManagedReplica[]>;
  /** Removes one replica (or service task set) after checking it belongs to `tenantId`. */
  removeReplica(tenantId: string, containerId: string): Promise<void>;
}
