/**
 * Health gate of a rollout. A replica is healthy when: the image has a HEALTHCHECK and
 * Docker reports `healthy`; else, with a port and a health path, an HTTP GET of that path
 * on the published host port answers 2xx/3xx; else, with a port, the port holds a TCP
 * connection and the container still runs; else it has stayed running for a second.
 * Exiting, restarting (the restart policy hides crashes otherwise), `unhealthy` or the
 * deadline all fail it, with a reason a person can read.
 */
import net from 'node:net';
import type Dockerode from 'dockerode';

export interface HealthTarget {
  container: Dockerode.Container;
  replica: number;
  port?: number;
  hasHealthcheck: boolean;
  /** RestartCount before we acted; any increase means it crashed at least once. */
  restartsBefore: number;
  /** HTTP path to GET when the image has no HEALTHCHECK. */
  healthPath?: string;
}

export type HealthOutcome =
  | { ok: true; target: HealthTarget; info: Dockerode.ContainerInspectInfo; hostPort?: number }
  | { ok: false; target: HealthTarget; reason: string; cancelled?: boolean };

// Most replicas pass within the first second: poll fast then, and back off afterwards.
const POLL_FAST_MS = 50;
const POLL_MS = 250;
const FAST_FOR_MS = 2000;
const STAY_RUNNING_MS = 1000;
// docker-proxy accepts on the host port even when nothing listens inside and then hangs up
// within milliseconds, so a connection only counts once it has survived this long.
const HOLD_MS = 300;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function hostPortOf(info: Dockerode.ContainerInspectInfo, port: number | undefined): number | undefined {
  if (!port) return undefined;
  const bindings = info.NetworkSettings?.Ports?.[`${port}/tcp`] ?? [];
  const first = bindings.find((b) => b.HostPort);
  return first ? Number(first.HostPort) : undefined;
}

/** True when a connection opens and is not closed by the peer within HOLD_MS. */
export function probeTcp(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    let hold: NodeJS.Timeout | undefined;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(hold);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => {
      hold = setTimeout(() => finish(true), HOLD_MS);
    });
    // A server that greets first (SMTP, SSH, ...) is plainly alive.
    socket.once('data', () => finish(true));
    socket.once('end', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/** Status code of GET http://host:port/path, or undefined when no answer came. */
export async function probeHttp(host: string, port: number, path: string, timeoutMs = 2000): Promise<number | undefined> {
  const h = host.includes(':') ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${h}:${port}${path.startsWith('/') ? path : `/${path}`}`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

function notRunningReason(info: Dockerode.ContainerInspectInfo, t: HealthTarget): string | undefined {
  const s = info.State;
  const crashes = info.RestartCount - t.restartsBefore;
  if (s.Restarting || crashes > 0) {
    return `replica ${t.replica} keeps crashing (exit code ${s.ExitCode}, restarted ${Math.max(crashes, 1)} time(s))`;
  }
  if (s.OOMKilled) return `replica ${t.replica} ran out of memory`;
  if (s.Status === 'exited' || s.Status === 'dead') return `replica ${t.replica} exited with code ${s.ExitCode}`;
  if (s.Paused) return `replica ${t.replica} is paused`;
  return undefined;
}

function lastHealthOutput(info: Dockerode.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const out = log[log.length - 1]?.Output?.replace(/\s+/g, ' ').trim();
  return out ? ` (${out.slice(0, 200)})` : '';
}

export async function waitHealthy(
  t: HealthTarget,
  opts: { deadline: number; probeHost: string; timeoutMs: number; cancelled: () => boolean },
): Promise<HealthOutcome> {
  let waitingFor = 'the container to start';
  const began = Date.now();
  for (;;) {
    if (opts.cancelled()) return { ok: false, target: t, reason: 'cancelled', cancelled: true };
    const info = await t.container.inspect();
    const dead = notRunningReason(info, t);
    if (dead) return { ok: false, target: t, reason: dead };

    if (info.State.Running) {
      if (t.hasHealthcheck) {
        const health = info.State.Health?.Status;
        if (health === 'healthy') return { ok: true, target: t, info, hostPort: hostPortOf(info, t.port) };
        if (health === 'unhealthy') {
          return { ok: false, target: t, reason: `replica ${t.replica} health check failed${lastHealthOutput(info)}` };
        }
        waitingFor = 'the image health check to pass';
      } else if (t.port) {
        const hostPort = hostPortOf(info, t.port);
        if (!hostPort) {
          return { ok: false, target: t, reason: `port ${t.port} of replica ${t.replica} was not published` };
        }
        waitingFor = t.healthPath ? `GET ${t.healthPath} on port ${t.port} to answer 2xx` : `port ${t.port} to accept connections`;
        const status = t.healthPath ? await probeHttp(opts.probeHost, hostPort, t.healthPath) : undefined;
        if (status !== undefined) waitingFor += ` (last answer: ${status})`;
        const passed = t.healthPath ? status !== undefined && status >= 200 && status < 400 : await probeTcp(opts.probeHost, hostPort);
        if (passed) {
          // The probe took time; a process that died meanwhile must not pass.
          const after = await t.container.inspect();
          const died = notRunningReason(after, t);
          if (died) return { ok: false, target: t, reason: died };
          if (after.State.Running) return { ok: true, target: t, info: after, hostPort };
        }
      } else {
        waitingFor = 'the container to keep running';
        const startedAt = Date.parse(info.State.StartedAt);
        if (Number.isFinite(startedAt) && Date.now() - startedAt >= STAY_RUNNING_MS) {
          return { ok: true, target: t, info };
        }
      }
    }

    if (Date.now() >= opts.deadline) {
      const secs = Math.round(opts.timeoutMs / 1000);
      const reason = `replica ${t.replica} timed out after ${secs}s waiting for ${waitingFor}`;
      return { ok: false, target: t, reason };
    }
    await sleep(Date.now() - began < FAST_FOR_MS ? POLL_FAST_MS : POLL_MS);
  }
}
