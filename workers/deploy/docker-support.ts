/**
 * Pure helpers of the Docker deployer: object names and labels, engine-error mapping,
 * DOCKER_HOST parsing and the log-stream demultiplexer. No engine calls here.
 */
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { HoistError } from '../contract/errors.ts';

export const LABEL = {
  tenant: 'hoist.tenant',
  app: 'hoist.app',
  deployment: 'hoist.deployment',
  action: 'hoist.action',
  replica: 'hoist.replica',
  managed: 'hoist.managed',
  /** Name of the HOIST_TARGETS engine a replica was created by; absent on the default engine. */
  target: 'hoist.target',
} as const;

/**
 * Docker names allow only [a-zA-Z0-9_.-], and tenant ids are platform ids we do not
 * control; the hash keeps two ids that clean up to the same text apart.
 */
export function tenantSlug(tenantId: string): string {
  const hash = createHash('sha256').update(tenantId).digest('hex').slice(0, 8);
  const clean = tenantId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  return clean ? `${clean}-${hash}` : hash;
}

export function networkName(tenantId: string): string {
  return `hoist-t-${tenantSlug(tenantId)}`;
}

export function containerName(tenantId: string, app: string, deploymentId: string, replica: number): string {
  return `hoist-${tenantSlug(tenantId)}-${app}-${deploymentId}-${replica}`;
}

/** Throws tenant_mismatch unless the object's labels name `tenantId`. */
export function assertTenant(labels: Record<string, string> | undefined | null, tenantId: string, what: string): void {
  const owner = labels?.[LABEL.tenant];
  if (owner !== tenantId) {
    throw new HoistError('tenant_mismatch', `${what} does not belong to this workspace, so Hoist will not touch it.`);
  }
}

export function statusCodeOf(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

// Socket-level failures: the engine (or the path to it) is down, not the request wrong.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

export function isEngineUnreachable(e: unknown): boolean {
  if (!e || typeof e !== 'object' || statusCodeOf(e) !== undefined) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  // Node's happy-eyeballs connect reports an AggregateError of per-address failures.
  const inner = (e as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.length > 0 && inner.every((x) => isEngineUnreachable(x));
}

export function unreachable(dockerHostLabel: string, cause: unknown): HoistError {
  return new HoistError('docker_unreachable', `Docker engine not reachable at ${dockerHostLabel}`, {
    retryable: true,
    cause,
  });
}

/** Docker's own explanation, without docker-modem's "(HTTP code 404) unexpected - " prefix, on one line. */
export function engineReason(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const text = raw
    .replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const capped = text.length > 300 ? `${text.slice(0, 297)}...` : text;
  return capped || 'unknown error';
}

export function dockerOptionsFor(dockerHost: string): Dockerode.DockerOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost };
  const m = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (m?.[2] && m[3]) {
    return { host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]), protocol: m[1] === 'https' ? 'https' : 'http' };
  }
  throw new HoistError(
    'config_invalid',
    `DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://host:2375, not "${dockerHost}".`,
  );
}

/** A readable "where is the engine" for error messages, from a client we did not build. */
export function describeDockerHost(docker: Dockerode): string {
  const modem = docker.modem as unknown as { socketPath?: unknown; host?: unknown; port?: unknown; protocol?: unknown };
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`;
  if (typeof modem.host === 'string') {
    const scheme = modem.protocol === 'https' ? 'https' : 'tcp';
    return `${scheme}://${modem.host}${modem.port ? `:${String(modem.port)}` : ''}`;
  }
  return 'the configured DOCKER_HOST';
}

/**
 * Non-TTY log output is framed: [stream type, 0, 0, 0, payload length (uint32 BE)] then the
 * payload. A buffer that does not start with a valid frame (TTY container) is returned as is.
 */
export function demuxLogs(buf: Buffer): string {
  const chunks: Buffer[] = [];
  let pos = 0;
  while (pos + 8 <= buf.length) {
    const type = buf[pos];
    if (type !== 0 && type !== 1 && type !== 2) {
      return pos === 0 ? buf.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    }
    const size = buf.readUInt32BE(pos + 4);
    chunks.push(buf.subarray(pos + 8, pos + 8 + size));
    pos += 8 + size;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC3339Nano drops trailing zeros, so "…:00.1Z" must not sort after "…:00.12Z". */
export function timestampKey(ts: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(ts);
  if (!m) return ts;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z`;
}

/** For `.catch`: the listed HTTP statuses mean "already as wanted" (resolves undefined); anything else rethrows. */
export function ignoreStatus(...codes: number[]): (e: unknown) => undefined {
  return (e) => {
    const code = statusCodeOf(e);
    if (code !== undefined && codes.includes(code)) return undefined;
    throw e;
  };
}
