/**
 * `npm run bench`: every bench module present, one after the other, figures printed (no
 * timed assertions). Modules owned by other areas are optional: a missing file is skipped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const modules: Array<[file: string, fn: string]> = [
  ['redact.ts', 'benchRedact'],
  ['llm.ts', 'benchLlm'],
  ['deploy.ts', 'benchDeploy'],
  ['hoist.ts', 'benchHoist'],
];

let failed = 0;
for (const [file, fn] of modules) {
  if (!existsSync(join(here, file))) continue;
  console.log(`\n── bench/${file} ──`);
  try {
    const mod = (await import(`./${file}`)) as Record<string, unknown>;
    const run = mod[fn];
    if (typeof run !== 'function') throw new Error(`bench/${file} has no ${fn}()`);
    const r = await (run as () => Promise<unknown>)();
    if (r !== undefined && file !== 'hoist.ts') console.log(JSON.stringify(r, null, 2));
  } catch (e) {
    failed++;
    console.error(`bench/${file} failed: ${e instanceof Error ? e.stack : String(e)}`);
  }
}
process.exit(failed ? 1 : 0);
