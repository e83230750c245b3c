/**
 * LLM parse-stage bench (issue 6), against real PostgreSQL and Redis (TEST_DATABASE_URL,
 * TEST_REDIS_URL) and the fake Messages API answering at once:
 *   1. Hoist's own added time in the parse stage — grammar miss, tenant settings, thread
 *      context, app list, budget, request building, validation, the request record — that
 *      is, the stage's wall time minus the time spent inside the SDK call, next to a raw
 *      SDK call to the same fake in the same process. Target: p99 under 5 ms.
 *      Also the same parser without Postgres/Redis (compute only), to tell code from I/O.
 *   2. The share of a sample of everyday commands the grammar reads without any LLM call.
 *
 *   npx tsx bench/llm.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { createLogger } from '../bot/infra/logger.ts';
import { createLlmParser } from '../bot/llm/index.ts';
import type { RedactedText } from '../bot/core/types.ts';
import { parseGrammar } from '../bot/pipeline/grammar.ts';
import { parseIntent } from '../bot/pipeline/parse-intent.ts';
import { redactMessage } from '../bot/pipeline/redact.ts';
import { Sealer } from '../db/crypto.ts';
import { LlmRepo } from '../db/llm-repo.ts';
import { Store } from '../db/repo.ts';
import { startFakeAnthropic } from '../test/fakes/anthropic-api.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../test/fixtures/services.ts';

/** What people type to a deploy bot on an ordinary day: exact forms, loose forms, free text. */
export const EVERYDAY = [
  'deploy web 1.4.2', 'deploy api 2.0.1 to staging', 'deploy web image hoist-demo/httpd:1 port 8080', '@hoist deploy worker 3 to production',
  '/hoist deploy api 1.5.0', 'Deploy web 1.4.3', 'deploy web 1.4.2 replicas 2', 'rollback web', 'rollback api to dep-abc123', 'restart worker',
  'restart api', 'stop worker', 'start worker', 'scale web to 3', 'scale worker to 0', 'set LOG_LEVEL=debug on api',
  'set DATABASE_URL=postgres://u:pw@db:5432/app on api', 'unset FEATURE_X on web', 'status', 'status web', 'apps', 'history api',
  'logs web', 'logs api 200', 'help', 'privacy', 'grant @bob deployer', 'revoke @carol', 'hoist: status', 'Status api',
  'logs worker 50', 'history web', 'deploy web 1.4.4 to staging', 'restart web', 'scale api to 2', '?',
  'can you push 1.4.2 of the api to staging?', 'bounce the worker', 'what is running right now?', 'roll back web please',
  'deploy the latest web', 'restart web and api', 'how many replicas does web have?', 'show me the last errors from api',
  'please scale web up to 4', 'ship api 2.1 to prod', 'is staging healthy?', 'turn off the worker for now', 'redeploy web', 'thanks!',
];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function benchLlm(opts: { iterations?: number; warmup?: number } = {}) {
  const iterations = opts.iterations ?? 400;
  const warmup = opts.warmup ?? 50;
  const grammarHits = EVERYDAY.filter((t) => parseGrammar(redactMessage(t).text).action !== 'unknown').length;

  const api = await startFakeAnthropic();
  api.fallback = { kind: 'tool', input: { action: 'restart', app: 'worker' } };
  const fx = await freshDatabase();
  const redis = new Redis(TEST_REDIS_URL);
  const key = 'sk-ant-bench-0000000000000000';
  const raw = new Anthropic({ apiKey: key, baseURL: api.url, maxRetries: 0, timeout: 10_000 });
  let inSdk = 0;
  const timed = new Anthropic({ apiKey: key, baseURL: api.url, maxRetries: 0, timeout: 10_000 });
  const create = timed.messages.create.bind(timed.messages);
  // Time spent inside the SDK call (network + fake) is subtracted from the stage's time.
  const client = { messages: { create: (async (body: never, o: never) => {
    const t0 = performance.now();
    try { return await create(body, o); } finally { inSdk += performance.now() - t0; }
  }) as unknown as Anthropic['messages']['create'] } } as Pick<Anthropic, 'messages'>;
  const masterKey = randomBytes(32);
  const tenantId = `slack:T${uid('').toUpperCase()}`;
  const store = new Store(fx.dbh.db);
  await store.ensureTenant(tenantId, 'slack');
  for (const [name, environment] of [['web', 'staging'], ['api', 'production'], ['worker', 'staging']] as const) {
    await store.upsertApp({ tenantId, name, image: `hoist-demo/${name}:1`, environment });
  }
  const parser = createLlmParser({
    config: { ANTHROPIC_API_KEY: key, HOIST_LLM_MODEL: 'claude-bench' }, client: () => client,
    store: new LlmRepo(fx.dbh.db), sealer: new Sealer(fx.dbh.db, masterKey), redis, masterKey, prefix: uid('bench-'),
    logger: createLogger({ level: 'silent' }),
    overrides: { limits: { tenantRequestsPerMinute: 1e9, userRequestsPerMinute: 1e9, tenantTokensPerDay: 1e12, userTokensPerDay: 1e12 } },
  });
  // The same parser without Postgres and Redis: what Hoist's own code costs, apart from I/O.
  const bare = createLlmParser({
    config: { ANTHROPIC_API_KEY: key, HOIST_LLM_MODEL: 'claude-bench' }, client: () => client, masterKey, logger: createLogger({ level: 'silent' }),
  });
  const staticApps = [{ name: 'api', environment: 'production' }, { name: 'web', environment: 'staging' }, { name: 'worker', environment: 'staging' }];
  const text = redactMessage('could you bounce the worker for me').text as RedactedText;
  const body = { model: 'claude-bench', max_tokens: 512, messages: [{ role: 'user' as const, content: text }] };
  const own: number[] = [];
  const stage: number[] = [];
  const sdk: number[] = [];
  const compute: number[] = [];
  try {
    for (let i = 0; i < warmup + iterations; i++) {
      let t0 = performance.now();
      await raw.messages.create(body);
      const rawMs = performance.now() - t0;
      inSdk = 0;
      t0 = performance.now();
      const r = await parseIntent(text, parser, {
        tenantId, userId: 'slack:U0BENCH1', conversation: { platform: 'slack', tenantId, channelId: 'C1', threadId: `t${i % 20}` },
        apps: async () => (await store.listApps(tenantId)).map((a) => ({ name: a.name, environment: a.environment })),
      });
      const total = performance.now() - t0;
      if (r.parser !== 'llm' || r.intent.action !== 'restart') throw new Error(`unexpected parse: ${JSON.stringify(r)}`);
      inSdk = 0;
      t0 = performance.now();
      await parseIntent(text, bare, { tenantId, userId: 'slack:U0BENCH1', conversation: { platform: 'slack', tenantId, channelId: 'C1' }, apps: async () => staticApps });
      const computeMs = performance.now() - t0 - inSdk;
      if (i < warmup) continue;
      compute.push(computeMs);
      sdk.push(rawMs);
      stage.push(total);
      own.push(total - inSdk);
    }
  } finally {
    redis.disconnect();
    await api.close();
    await fx.drop();
  }
  return {
    iterations,
    hoistOwnMs: { p50: r2(pct(own, 50)), p99: r2(pct(own, 99)) },
    parseStageMs: { p50: r2(pct(stage, 50)), p99: r2(pct(stage, 99)) },
    rawSdkCallMs: { p50: r2(pct(sdk, 50)), p99: r2(pct(sdk, 99)) },
    computeOnlyMs: { p50: r2(pct(compute, 50)), p99: r2(pct(compute, 99)) },
    grammarShare: { handled: grammarHits, of: EVERYDAY.length, percent: Math.round((grammarHits / EVERYDAY.length) * 100) },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchLlm();
  process.stdout.write([
    `LLM parse stage (fake API at 0 ms, ${r.iterations} iterations, real PostgreSQL + Redis):`,
    `  Hoist's own added time   p50 ${r.hoistOwnMs.p50} ms   p99 ${r.hoistOwnMs.p99} ms   (target p99 < 5 ms)`,
    `  whole parse stage        p50 ${r.parseStageMs.p50} ms   p99 ${r.parseStageMs.p99} ms`,
    `  raw SDK call, same fake  p50 ${r.rawSdkCallMs.p50} ms   p99 ${r.rawSdkCallMs.p99} ms`,
    `  own time without I/O     p50 ${r.computeOnlyMs.p50} ms   p99 ${r.computeOnlyMs.p99} ms   (same parser, no Postgres/Redis)`,
    `Grammar without LLM: ${r.grammarShare.handled}/${r.grammarShare.of} everyday commands (${r.grammarShare.percent}%)`,
    '',
  ].join('\n'));
}
