/**
 * Builds an app's image from a git source: `git clone` (shallow where the ref allows) into
 * a temporary directory, `git archive` of the checked-out commit as the build context tar
 * stream (tracked files only, never .git), `docker build` with the engine, output lines
 * streamed as progress (the processor redacts them). The image is tagged
 * `hoist-build/<tenant-slug>-<app>:<deployment id>` and labelled with tenant, app,
 * deployment and commit, so a re-run finds the finished build instead of building twice,
 * and pruning removes only what Hoist built. Accepted sources: https://, ssh://,
 * user@host:path (scp-like ssh) and file:// URLs; a ref is a branch, tag or commit.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { HoistError, displaySource, sourceProblem } from '../contract/index.ts';
import type { ProgressFn } from './deployer.ts';
import { LABEL, engineReason, ignoreStatus, isEngineUnreachable, tenantSlug } from './docker-support.ts';

export const BUILT_REPOSITORY = 'hoist-build';
export const BUILD_LABEL = { built: 'hoist.built', commit: 'hoist.commit', source: 'hoist.source' } as const;

export interface BuildRequest {
  tenantId: string;
  app: string;
  deploymentId: string;
  source: string;
  ref?: string;
  /** Path of the Dockerfile inside the repository (default: Dockerfile at the root). */
  dockerfile?: string;
}

export interface SourceBuilder {
  repositoryFor(tenantId: string, app: string): string;
  build(req: BuildRequest, progress: ProgressFn): Promise<{ image: string; commit: string }>;
  /** Removes images Hoist built for the app whose deployment is not in `keep`. */
  prune(tenantId: string, app: string, keep: ReadonlySet<string>): Promise<number>;
}

const SHA = /^[0-9a-f]{7,40}$/i;
const MAX_PROGRESS_LINES = 200;

export { displaySource };

export function validateSource(source: string, ref?: string, dockerfile?: string): void {
  const problem = sourceProblem(source, ref);
  if (problem) throw new HoistError('invalid_request', problem);
  if (dockerfile !== undefined && (dockerfile.startsWith('/') || dockerfile.split('/').includes('..'))) {
    throw new HoistError('invalid_request', `Dockerfile path "${dockerfile}" must stay inside the repository.`);
  }
}

function runGit(args: string[], cwd: string | undefined, timeoutMs: number, baseEnv: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...baseEnv, GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: 'ssh -o BatchMode=yes', GIT_ASKPASS: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err.trim().split('\n').slice(-3).join(' ') || `git exited ${code}`))));
  });
}

export class DockerSourceBuilder implements SourceBuilder {
  constructor(
    private readonly docker: Dockerode,
    /** `env`: the process environment git runs with (PATH, HOME, ssh agent), passed in by main. */
    private readonly opts: { gitTimeoutMs?: number; workDir?: string; env?: NodeJS.ProcessEnv } = {},
  ) {}

  repositoryFor(tenantId: string, app: string): string {
    return `${tenantSlug(tenantId)}-${app}`;
  }

  async build(req: BuildRequest, progress: ProgressFn): Promise<{ image: string; commit: string }> {
    validateSource(req.source, req.ref, req.dockerfile);
    const image = `${BUILT_REPOSITORY}/${this.repositoryFor(req.tenantId, req.app)}:${req.deploymentId}`;
    const existing = await this.docker.getImage(image).inspect().catch(ignoreStatus(404));
    const labels = existing?.Config?.Labels ?? {};
    if (existing && labels[LABEL.deployment] === req.deploymentId && labels[LABEL.tenant] === req.tenantId && labels[BUILD_LABEL.commit]) {
      await progress(`image ${image} was already built (a re-run)`);
      return { image, commit: labels[BUILD_LABEL.commit]! };
    }
    const dir = await mkdtemp(join(this.opts.workDir ?? tmpdir(), 'hoist-src-'));
    try {
      await progress(`cloning ${displaySource(req.source)}${req.ref ? `#${req.ref}` : ''}`);
      const commit = await this.checkout(req.source, req.ref, dir);
      await progress(`building commit ${commit.slice(0, 12)}`);
      await this.dockerBuild(dir, image, commit, req, progress);
      return { image, commit };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async checkout(source: string, ref: string | undefined, dir: string): Promise<string> {
    const t = this.opts.gitTimeoutMs ?? 5 * 60_000;
    const git = (args: string[], cwd: string | undefined, ms: number) => runGit(args, cwd, ms, this.opts.env ?? {});
    const scrub = (e: unknown) => new HoistError('build_failed',
      `Could not fetch ${displaySource(source)}${ref ? `#${ref}` : ''}: ${(e instanceof Error ? e.message : String(e)).split(source).join(displaySource(source))}`);
    const work = join(dir, 'src');
    try {
      if (!ref) {
        await git(['clone', '--quiet', '--depth', '1', '--', source, work], undefined, t);
      } else {
        // Branch or tag: one shallow clone. A commit: a shallow fetch by id, else a full clone.
        const shallow = await git(['clone', '--quiet', '--depth', '1', '--branch', ref, '--', source, work], undefined, t).then(() => true, () => false);
        if (!shallow) {
          if (!SHA.test(ref)) throw new Error(`no branch or tag named ${ref}`);
          await rm(work, { recursive: true, force: true });
          const byId = await (async () => {
            await git(['init', '--quiet', work], undefined, t);
            await git(['fetch', '--quiet', '--depth', '1', '--', source, ref], work, t);
            await git(['checkout', '--quiet', 'FETCH_HEAD'], work, t);
          })().then(() => true, () => false);
          if (!byId) {
            await rm(work, { recursive: true, force: true });
            await git(['clone', '--quiet', '--no-checkout', '--', source, work], undefined, t);
            await git(['checkout', '--quiet', ref], work, t);
          }
        }
      }
      return await git(['rev-parse', 'HEAD'], work, t);
    } catch (e) {
      throw scrub(e);
    }
  }

  private async dockerBuild(dir: string, image: string, commit: string, req: BuildRequest, progress: ProgressFn): Promise<void> {
    const archive = spawn('git', ['archive', '--format=tar', 'HEAD'], { cwd: join(dir, 'src'), env: this.opts.env ?? {}, stdio: ['ignore', 'pipe', 'ignore'] });
    let sent = 0;
    const lines: string[] = [];
    try {
      const stream = await this.docker.buildImage(archive.stdout, {
        t: image,
        rm: true,
        forcerm: true,
        ...(req.dockerfile ? { dockerfile: req.dockerfile } : {}),
        labels: {
          [LABEL.tenant]: req.tenantId, [LABEL.app]: req.app, [LABEL.deployment]: req.deploymentId, [LABEL.managed]: '1',
          [BUILD_LABEL.built]: '1', [BUILD_LABEL.commit]: commit, [BUILD_LABEL.source]: displaySource(req.source),
        },
      });
      const pending: Promise<void>[] = [];
      const events = await new Promise<unknown[]>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out)), (ev: { stream?: string }) => {
          for (const line of (ev.stream ?? '').split('\n').map((l) => l.trimEnd()).filter(Boolean)) {
            lines.push(line);
            if (sent < MAX_PROGRESS_LINES) pending.push(Promise.resolve(progress(`build: ${line}`)));
            else if (sent === MAX_PROGRESS_LINES) pending.push(Promise.resolve(progress('build: (further output not shown)')));
            sent++;
          }
        });
      });
      await Promise.all(pending);
      const failed = events.find((ev): ev is { error: unknown } => !!ev && typeof ev === 'object' && 'error' in ev);
      if (failed) {
        throw new HoistError('build_failed', `The build of ${req.app} failed: ${String(failed.error).trim()}. Last build lines:\n${lines.slice(-10).join('\n')}`);
      }
    } catch (e) {
      if (e instanceof HoistError || isEngineUnreachable(e)) throw e;
      throw new HoistError('build_failed', `The build of ${req.app} failed: ${engineReason(e)}`, { cause: e });
    } finally {
      archive.kill();
    }
  }

  async prune(tenantId: string, app: string, keep: ReadonlySet<string>): Promise<number> {
    const list = await this.docker.listImages({ filters: { label: [`${LABEL.tenant}=${tenantId}`, `${LABEL.app}=${app}`, `${BUILD_LABEL.built}=1`] } });
    let removed = 0;
    for (const img of list) {
      if (img.Labels?.[LABEL.tenant] !== tenantId || keep.has(img.Labels?.[LABEL.deployment] ?? '')) continue;
      // 409: a container still uses it (an old replica being retired); the next prune gets it.
      await this.docker.getImage(img.Id).remove({ force: false }).then(() => removed++, ignoreStatus(404, 409));
    }
    return removed;
  }
}
