/**
 * Builds `hoist-demo/httpd:<tag>`, a ~2 MB web app to deploy where no registry is reachable:
 * FROM scratch + static busybox, `httpd -f -p 8080 -h /www` serving one page.
 * Variants: `healthcheck` adds a HEALTHCHECK, `broken` exits at once (failed rollouts),
 * `verbose` logs each request.
 * The image carries `hoist.demo.spec`, a hash of what was asked for, so a tag built
 * earlier with other options (or by hand) is rebuilt instead of silently reused.
 *
 *   npx tsx scripts/demo-image.ts [tag]
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import Dockerode from 'dockerode';
import { createTar } from './tar.ts';

export interface DemoImageOptions {
  tag?: string;
  page?: string;
  healthcheck?: boolean;
  broken?: boolean;
  /** httpd logs every request to stderr (`-v`), so there is something for `logs` to show. */
  verbose?: boolean;
}

export const DEMO_REPOSITORY = 'hoist-demo/httpd';
const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox'];

function readBusybox(): Buffer {
  const found = BUSYBOX_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `busybox not found at ${BUSYBOX_PATHS.join(' or ')}; install it with: apt-get install -y busybox-static`,
    );
  }
  return readFileSync(found);
}

function dockerfileFor(opts: DemoImageOptions): string {
  const lines = [
    'FROM scratch',
    // Busybox layers come first so every variant shares them from the build cache.
    'COPY busybox /bin/busybox',
    'RUN ["/bin/busybox","--install","-s","/bin"]',
    'COPY www /www',
    'EXPOSE 8080',
  ];
  if (opts.healthcheck) {
    lines.push('HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1');
  }
  const httpd = opts.verbose ? '"httpd","-f","-v","-p","8080","-h","/www"' : '"httpd","-f","-p","8080","-h","/www"';
  lines.push(opts.broken ? 'CMD ["sh","-c","echo boom; exit 1"]' : `CMD [${httpd}]`);
  return lines.join('\n');
}

async function followBuild(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  const output = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out)));
  });
  // The build endpoint answers 200 and reports failures inside the stream.
  for (const event of output) {
    if (event && typeof event === 'object' && 'error' in event) {
      throw new Error(`demo image build failed: ${String((event as { error: unknown }).error)}`);
    }
  }
}

export async function ensureDemoImage(docker: Dockerode, opts: DemoImageOptions = {}): Promise<string> {
  const tag = opts.tag ?? '1';
  const ref = `${DEMO_REPOSITORY}:${tag}`;
  const page = opts.page ?? `Hello from Hoist demo ${tag}\n`;
  const body = dockerfileFor(opts);
  const busybox = readBusybox();
  const spec = createHash('sha256')
    .update(body)
    .update('\0')
    .update(page)
    .update('\0')
    .update(createHash('sha256').update(busybox).digest('hex'))
    .digest('hex')
    .slice(0, 16);

  const existing = await docker
    .getImage(ref)
    .inspect()
    .catch((e: unknown) => {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    });
  if (existing?.Config?.Labels?.['hoist.demo.spec'] === spec) return ref;

  const dockerfile = `${body}\nLABEL hoist.demo="1" hoist.demo.spec="${spec}"\n`;
  const context = createTar([
    { name: 'Dockerfile', data: dockerfile },
    { name: 'busybox', data: busybox, mode: 0o755 },
    { name: 'www' },
    { name: 'www/index.html', data: page },
  ]);
  const stream = await docker.buildImage(Readable.from([context]), { t: ref, rm: true, forcerm: true });
  await followBuild(docker, stream);
  return ref;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Dockerode's defaults honour DOCKER_HOST, which is what a person running this expects.
  const ref = await ensureDemoImage(new Dockerode(), { tag: process.argv[2] ?? '1' });
  process.stdout.write(`${ref}\n`);
}
