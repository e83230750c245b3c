/**
 * Redaction throughput and worst cases. Generates ~5 MB of chat-like text in which ~1%
 * of messages carry a (fake) secret, runs redact() over it 7 times after one warm-up
 * pass, and prints the median MB/s beside a baseline measured in the same process (runs
 * interleaved, so both see the same machine load): one
 * `/[A-Za-z0-9]{40}/g` scan, the cheapest "find token-looking strings" pass there is.
 * Then times 1 MB adversarial inputs (the linear-time contract: each under 50 ms), as
 * median CPU ms per MB and as a multiple of the baseline's time over 1 MB of the corpus.
 * CPU time is printed beside wall time because CI machines are shared. Last, recall and
 * precision per kind on the held-out corpus (test/fixtures/redact/heldout.ts).
 *
 * Which figure to trust for the 50 ms contract: `process.cpuUsage` counts every thread of
 * the process, V8's parallel GC helpers included, so the CPU column overstates what one
 * message costs its caller when a case allocates (seen: 57 ms CPU for 44 ms wall); the
 * median wall column moves with other processes' load. The `min wall` column is the
 * fastest of the 7 timed runs: helper threads add nothing to it and load can only
 * lengthen a run, so it is the stable estimate of the cost on a quiet core, and
 * `× base (min)` compares it with the fastest baseline pass measured between the runs.
 * To see CPU time without GC helper threads, run the bench with them off:
 * `node --single-threaded-gc --import tsx bench/redact.ts` (the header then says so).
 */
import { pathToFileURL } from 'node:url';
import { MAX_REDACT_INPUT, redact } from '../bot/pipeline/redact/index.ts';
import { chatText } from '../test/fixtures/redact/corpus.ts';
import { heldOutCorpus, scoreHeldOut } from '../test/fixtures/redact/heldout.ts';

const MB = 1_000_000;
const TARGET_MS = 50;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function time(f: () => void): Timing {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** redact() takes at most MAX_REDACT_INPUT chars, so the corpus goes through in 1 MB pieces. */
function redactAll(pieces: readonly string[]): number {
  let findings = 0;
  for (const p of pieces) findings += redact(p).findings.length;
  return findings;
}

export function adversarialInputs(): [string, string][] {
  const b64 = Buffer.from(Array.from({ length: 760_000 }, (_, i) => (i * 7919 + (i >> 3)) & 255)).toString('base64');
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  return [
    ['a × 1M', fill('a')],
    ['= × 1M', fill('=')],
    [': × 1M', fill(':')],
    ['-----BEGIN without END', fill('-----BEGIN ')],
    ['PEM headers, no footer × 31k', fill('-----BEGIN RSA PRIVATE KEY-----\n')],
    ['eyJ × 333k', fill('eyJ')],
    ['eyJx.eyJx. …', fill('eyJx.')],
    ['1 MB base64', b64.slice(0, MB)],
    ['password= × 110k', fill('password=')],
    ['key: × 200k', fill('key: ')],
    ['authorization= …', fill('authorization=')],
    ['data:\\n × 170k', fill('data:\n')],
    ['k8s Secret entries × 34k', fill('kind: Secret\ndata:\n  a: YWJj\n')],
    ['://x:y@ …', fill('http://x:y@')],
    ['curl -u …', fill('curl -u ')],
    ['mysql -p …', fill('mysql -p')],
    ['AKIA key ids × 47k', fill('AKIAABCDEFGHIJKLMNOP ')],
    ['Password=a; …', fill('Password=a;')],
    ['-- flags', fill('--password ')],
    ['zero-width soup', fill('ghp_\u200b')],
  ];
}

export async function benchRedact(): Promise<void> {
  const { text, secrets } = chatText(20_24, 5 * MB, 0.01);
  const pieces: string[] = [];
  for (let off = 0; off < text.length; off += MAX_REDACT_INPUT) pieces.push(text.slice(off, off + MAX_REDACT_INPUT));
  const mb = text.length / MB;
  console.log(`corpus: ${mb.toFixed(2)} MB of chat-like text, ${secrets} planted secrets`);

  // Warm up on the whole corpus, then interleave redact and baseline runs so both see
  // the same load on a shared machine (their ratio is the stable figure).
  redactAll(pieces);
  const re = /[A-Za-z0-9]{40}/g;
  const runs: Timing[] = [];
  const baseRuns: Timing[] = [];
  let findings = 0;
  for (let i = 0; i < 7; i++) {
    runs.push(time(() => (findings = redactAll(pieces))));
    baseRuns.push(time(() => void text.match(re)));
  }
  const wall = mb / (median(runs.map((r) => r.wallMs)) / 1000);
  const cpu = mb / (median(runs.map((r) => r.cpuMs)) / 1000);
  const baseWall = mb / (median(baseRuns.map((r) => r.wallMs)) / 1000);
  const baseCpu = mb / (median(baseRuns.map((r) => r.cpuMs)) / 1000);

  console.log(`redact():   ${wall.toFixed(1)} MB/s wall, ${cpu.toFixed(1)} MB/s cpu (median of 7; ${findings} findings)`);
  console.log(`baseline:   ${baseWall.toFixed(1)} MB/s wall, ${baseCpu.toFixed(1)} MB/s cpu (/[A-Za-z0-9]{40}/g over the same text)`);
  console.log(`ratio:      redact is ${(wall / baseWall).toFixed(2)}× the baseline (wall), ${(cpu / baseCpu).toFixed(2)}× (cpu)`);

  // Worst cases: each input is 1 MB. CPU time is the figure to trust on a shared machine;
  // the baseline regex over 1 MB of the corpus runs between cases so the ratio absorbs load.
  // Each case is warmed up first (the bot redacts on a warm engine), then timed 7 times.
  const oneMb = text.slice(0, MB);
  const warmups = 3;
  const runsPerCase = 7;
  const singleGc = process.execArgv.includes('--single-threaded-gc');
  console.log(
    `adversarial 1 MB inputs (median of ${runsPerCase} runs after ${warmups} warm-ups, and the fastest run; target ≤ ${TARGET_MS} ms per 1 MB message)` +
      (singleGc ? ' [--single-threaded-gc: CPU without GC helper threads]:' : ':'),
  );
  console.log(
    `  ${'case'.padEnd(30)} ${'cpu ms'.padStart(7)} ${'wall ms'.padStart(8)} ${'× base'.padStart(7)}  ok ${'min wall'.padStart(9)} ${'× base (min)'.padStart(13)}`,
  );
  let worst = 0;
  let worstName = '';
  let over = 0;
  let worstMin = 0;
  let worstMinName = '';
  for (const [name, input] of adversarialInputs()) {
    for (let i = 0; i < warmups; i++) redact(input);
    const cpuRuns: number[] = [];
    const wallRuns: number[] = [];
    const baseMs: number[] = [];
    const baseWall: number[] = [];
    for (let i = 0; i < runsPerCase; i++) {
      const t = time(() => redact(input));
      cpuRuns.push(t.cpuMs);
      wallRuns.push(t.wallMs);
      const b = time(() => void oneMb.match(re));
      baseMs.push(b.cpuMs);
      baseWall.push(b.wallMs);
    }
    const minWall = Math.min(...wallRuns) / (input.length / MB);
    if (minWall > worstMin) {
      worstMin = minWall;
      worstMinName = name;
    }
    const c = median(cpuRuns) / (input.length / MB);
    if (c > worst) {
      worst = c;
      worstName = name;
    }
    if (c > TARGET_MS) over++;
    console.log(
      `  ${name.padEnd(30)} ${c.toFixed(1).padStart(7)} ${median(wallRuns).toFixed(1).padStart(8)} ${(median(cpuRuns) / median(baseMs)).toFixed(2).padStart(7)}  ${c <= TARGET_MS ? 'yes' : 'NO '}` +
        ` ${minWall.toFixed(1).padStart(9)} ${(Math.min(...wallRuns) / Math.min(...baseWall)).toFixed(2).padStart(13)}`,
    );
  }
  console.log(`worst adversarial case: ${worst.toFixed(1)} ms cpu (${worstName}); ${over} of ${adversarialInputs().length} over ${TARGET_MS} ms`);
  console.log(`worst adversarial case by fastest run: ${worstMin.toFixed(1)} ms wall (${worstMinName})`);

  // Held-out corpus: recall and precision per kind (recall by the labelled kind, false
  // alarms by the reported type), on text generated apart from the tuning corpus.
  const score = scoreHeldOut([...heldOutCorpus(11, 2000), ...heldOutCorpus(29, 2000)], (t) => redact(t).findings);
  console.log(
    `held-out corpus: ${score.samples} samples, ${score.labelled} labelled secrets: recall ${score.recall.toFixed(4)}, ` +
      `precision ${score.precision.toFixed(4)} (${score.reported - score.correct} false alarms of ${score.reported} findings)`,
  );
  console.log(`  ${'kind'.padEnd(32)} ${'recall'.padStart(14)} ${'false alarms'.padStart(14)}`);
  for (const [kind, k] of [...score.byKind].sort(([a], [b]) => a.localeCompare(b))) {
    const recall = k.labelled === 0 ? '—' : `${k.recalled}/${k.labelled}`;
    console.log(`  ${kind.padEnd(32)} ${recall.padStart(14)} ${`${k.falseAlarms}/${k.reported}`.padStart(14)}`);
  }
  for (const m of score.misses.slice(0, 5)) console.log(`  miss: ${m}`);
  for (const f of score.falseAlarms.slice(0, 5)) console.log(`  false alarm: ${f}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchRedact();
}
