/**
 * The `hoist` command line (PRODUCT.md). The only other place, with the console adapter,
 * that writes to stdout. Exit codes: 0 ok, 1 failure, 2 missing prerequisite or bad config.
 */
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { verifyAudit } from '../db/audit.ts';
import { parseConfig, type Config, type Mode } from './config.ts';
import { HoistError, isHoistError } from './core/errors.ts';
import type { RedactedText } from './core/types.ts';
import { createLogger } from './infra/logger.ts';
import { openDb, openServices } from './infra/services.ts';
import { shutdown, untilSignal } from './infra/shutdown.ts';
import { parseIntent, type IntentParser } from './pipeline/parse-intent.ts';
import { redactMessage } from './pipeline/redact.ts';
import { runRedactCli } from './pipeline/redact/cli.ts';

async function loadDotEnv(): Promise<void> {
  try {
    process.loadEnvFile?.('.env');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

type Env = Record<string, string | undefined>;

function config(mode: Mode, env: Env): Config {
  return parseConfig(env, mode);
}

async function runStart(mode: 'start' | 'console' | 'bot' | 'workers', user: string, env: Env): Promise<void> {
  const cfg = config(mode, env);
  const consoleMode = mode === 'console' || (mode === 'start' && !cfg.SLACK_BOT_TOKEN && !cfg.DISCORD_TOKEN);
  const logger = createLogger({
    level: cfg.LOG_LEVEL,
    file: consoleMode ? join(resolve(cfg.HOIST_DATA_DIR), 'hoist.log') : undefined,
    base: { proc: mode },
  });
  const services = await openServices(cfg, mode);
  // Daemons only: the console ends with its input, and Ctrl-C there keeps its default meaning.
  const signal = consoleMode ? undefined : untilSignal(logger);
  type Closable = { close(): Promise<void> };
  let workers: (Closable & { close(graceMs?: number): Promise<void>; checks: Record<string, () => Promise<unknown>> }) | undefined;
  let bot: (Closable & { drain(): void }) | undefined;
  let http: { drain(): void; close(): Promise<void> } | undefined;
  let closed = false;
  try {
    if (mode !== 'bot') {
      const { startWorkers } = await import('../workers/main.ts');
      // `hoist workers` leaves the endpoint proxy to `hoist proxy`; one process serves it.
      const w = await startWorkers({ config: cfg, services, logger, proxy: mode !== 'workers' });
      workers = w;
      if (consoleMode) {
        const { prepareConsoleDocker } = await import('../workers/console-docker.ts');
        await prepareConsoleDocker(w.deployer, logger);
      }
    }
    if (mode !== 'workers') {
      const { startBot } = await import('./main.ts');
      const b = await startBot({
        config: cfg, services, logger, console: consoleMode ? { user } : undefined,
        http: consoleMode ? undefined : { port: cfg.PORT },
        readiness: workers ? { docker: workers.checks.docker! } : undefined,
      });
      bot = b;
      if (consoleMode) {
        await b.runConsole(process.stdin, Boolean(process.stdin.isTTY));
        return;
      }
    } else if (workers) {
      // The workers process serves its own /healthz, /readyz (PostgreSQL, Redis, Docker) and /metrics.
      const { startHttpServer } = await import('./infra/http-server.ts');
      http = await startHttpServer({ port: cfg.PORT, logger, checks: workers.checks });
    }
    await signal;
    // Order: stop taking work (readyz 503), let running jobs finish, post what is left, close.
    const clean = await shutdown([
      { name: 'drain', run: async () => { bot?.drain(); http?.drain(); } },
      { name: 'workers', run: async () => workers?.close(cfg.HOIST_SHUTDOWN_GRACE_MS) },
      { name: 'bot', run: async () => bot?.close() },
      { name: 'http', run: async () => http?.close() },
      { name: 'services', run: () => services.close() },
    ], cfg.HOIST_SHUTDOWN_GRACE_MS, logger);
    closed = true;
    logger.info({ clean }, 'shutdown.done');
    // Anything that still holds the event loop (a stuck socket) must not keep a stopped process alive.
    setTimeout(() => process.exit(clean ? 0 : 1), 2_000).unref();
  } finally {
    if (!closed) {
      for (const c of [bot, workers, http]) await c?.close().catch((err: unknown) => logger.error({ err: String(err) }, 'shutdown.failed'));
      await services.close();
    }
    logger.flush();
  }
}

/** `env` is the process environment as bin/hoist.mjs passes it; a .env file is loaded into it first. */
export async function main(argv: string[], env: Env): Promise<number> {
  await loadDotEnv();
  let code = 0;
  const program = new Command()
    .name('hoist')
    .description('Privacy-first chat-ops deploy bot')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const defaultUser = (() => { try { return userInfo().username || 'me'; } catch { return 'me'; } })();

  program.command('start').description('bot + workers in one process (console when no chat tokens are set)')
    .action(async () => runStart('start', defaultUser, env));
  program.command('console').description('chat with Hoist in the terminal').option('--user <name>', 'who you are', defaultUser)
    .action(async (o: { user: string }) => runStart('console', o.user, env));
  program.command('bot').description('the bot process alone').action(async () => runStart('bot', defaultUser, env));
  program.command('workers').description('the workers process alone').action(async () => runStart('workers', defaultUser, env));
  program.command('proxy').description("the apps' stable endpoints alone (production, beside `hoist bot` and `hoist workers`)").action(async () => {
    const cfg = config('cli', env);
    if (!cfg.DATABASE_URL) throw new HoistError('config_invalid', 'hoist proxy needs DATABASE_URL (the workers tell it of route changes through PostgreSQL).');
    const logger = createLogger({ level: cfg.LOG_LEVEL, base: { proc: 'proxy' } });
    const dbh = await openDb(cfg);
    const { startProxyProcess } = await import('../workers/proxy/main.ts');
    const proxy = await startProxyProcess({ config: cfg, dbh, logger });
    await untilSignal(logger);
    await proxy.close();
    await dbh.close();
    logger.flush();
  });
  program.command('migrate').description('apply database migrations').action(async () => {
    const dbh = await openDb(config('cli', env));
    process.stdout.write(`migrations applied on ${dbh.label}\n`);
    await dbh.close();
  });
  program.command('redact').description('stdin → stdout with secrets replaced').option('--jsonl', 'read {"text":…} lines, write text and findings')
    .action(async (o: { jsonl?: boolean }) => { code = await runRedactCli({ jsonl: Boolean(o.jsonl) }, process.stdin, process.stdout); });
  program.command('explain').description('how Hoist reads a message').option('--jsonl', 'read {"text":…} lines').argument('[message...]')
    .action(async (words: string[], o: { jsonl?: boolean }) => { code = await explain(words.join(' '), Boolean(o.jsonl), env); });
  const slack = program.command('slack').description('Slack setup');
  slack.command('manifest').description('print the Slack app manifest (YAML)')
    .option('--socket', 'Socket Mode (no public URL needed)').option('--url <base>', 'public base URL of the bot (HTTP mode)')
    .action(async (o: { socket?: boolean; url?: string }) => {
      const { slackManifest } = await import('./cli-slack.ts');
      process.stdout.write(slackManifest({ socket: Boolean(o.socket), url: o.url }));
    });
  const discord = program.command('discord').description('Discord setup');
  discord.command('register-commands').description('register the /hoist slash command (global, or one guild for development)')
    .option('--guild <id>', 'register in this guild only (appears at once)')
    .action(async (o: { guild?: string }) => {
      const cfg = config('cli', env);
      const { registerCommands } = await import('./cli-discord.ts');
      process.stdout.write(await registerCommands({ token: cfg.DISCORD_TOKEN, appId: cfg.DISCORD_APP_ID, apiUrl: cfg.DISCORD_API_URL, guild: o.guild }));
    });
  const tenant = program.commands.find((c) => c.name() === 'tenant') ?? program.command('tenant').description('tenant settings, export and erasure');
  tenant.command('llm').description("a tenant's LLM: on/off, model, its own API key (read from stdin, sealed)").argument('<tenantId>')
    .option('--on').option('--off').option('--model <model>').option('--key-stdin', 'read the API key from stdin').option('--clear-key')
    .action(async (tenantId: string, f: { on?: boolean; off?: boolean; model?: string; keyStdin?: boolean; clearKey?: boolean }) => {
      const cfg = config('cli', env);
      const dbh = await openDb(cfg);
      try {
        const [{ LlmRepo }, { Sealer }, { runTenantLlm }, { existingKeyring }] = await Promise.all([
          import('../db/llm-repo.ts'), import('../db/crypto.ts'), import('./llm/tenant-cli.ts'), import('../workers/maintenance/admin-cli.ts')]);
        const keyring = existingKeyring(cfg);
        const sealer = keyring ? () => new Sealer(dbh.db, keyring) : undefined;
        code = await runTenantLlm({ repo: new LlmRepo(dbh.db), sealer, tenantId, flags: f, stdin: process.stdin, out: process.stdout });
      } finally {
        await dbh.close();
      }
    });
  const audit = program.command('audit').description('audit log tools');
  audit.command('verify').description('recompute the hash chain, checkpoints and signed heads').option('--tenant <id>')
    .action(async (o: { tenant?: string }) => {
      const cfg = config('cli', env);
      const dbh = await openDb(cfg);
      try {
        // With the master key (env or data dir) the signed heads and checkpoints are checked too.
        const [{ existingKeyring }, { Sealer }] = await Promise.all([import('../workers/maintenance/admin-cli.ts'), import('../db/crypto.ts')]);
        const keyring = existingKeyring(cfg);
        const r = await verifyAudit(dbh.db, o.tenant, keyring ? new Sealer(dbh.db, keyring) : undefined);
        if (r.ok) process.stdout.write(`audit chain OK: ${r.events} events across ${r.tenants} tenant(s)\n`);
        else {
          const b = r.firstBad!;
          process.stdout.write(`audit chain BROKEN at tenant ${b.tenantId} seq ${b.seq} (row id ${b.id}): ${b.reason}\n`);
          code = 1;
        }
      } finally {
        await dbh.close();
      }
    });
  const { registerAdminCommands } = await import('../workers/maintenance/admin-cli.ts');
  registerAdminCommands(program, (c) => { code = c; }, () => config('cli', env));

  try {
    await program.parseAsync(argv);
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode ?? 1;
    if (isHoistError(e)) {
      process.stderr.write(`hoist: ${e.userMessage}\n`);
      return e.code === 'config_invalid' || e.code === 'service_unavailable' ? 2 : 1;
    }
    process.stderr.write(`hoist: ${e instanceof Error ? e.message : String(e)}\n`);
    if (env.HOIST_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
  return code;
}

/** With ANTHROPIC_API_KEY set, explain asks the LLM too (no tenant: nothing recorded, no apps known). */
async function explainParser(env: Env): Promise<IntentParser | undefined> {
  const cfg = config('cli', env);
  if (!cfg.ANTHROPIC_API_KEY) return undefined;
  const [{ default: Anthropic }, { createLlmParser, DEFAULT_TIMEOUT_MS }, { randomBytes }] = await Promise.all([
    import('@anthropic-ai/sdk'), import('./llm/index.ts'), import('node:crypto')]);
  return createLlmParser({
    config: cfg, masterKey: randomBytes(32), logger: createLogger({ level: 'error' }),
    client: (apiKey) => new Anthropic({ apiKey, baseURL: cfg.ANTHROPIC_BASE_URL, maxRetries: 0, timeout: DEFAULT_TIMEOUT_MS }),
  });
}

async function explainOne(text: string, llm?: IntentParser) {
  const red = redactMessage(text);
  const { intent, parser } = await parseIntent(red.text as RedactedText, llm, {
    tenantId: 'explain', userId: 'console:explain', conversation: { platform: 'console', tenantId: 'explain', channelId: 'explain' }, apps: async () => [],
  });
  return { redacted: red.text, parser, intent };
}

async function explain(message: string, jsonl: boolean, env: Env): Promise<number> {
  const llm = await explainParser(env);
  if (!jsonl) {
    if (!message.trim()) throw new HoistError('invalid_request', 'give a message: hoist explain "deploy web image nginx:1"');
    const r = await explainOne(message, llm);
    process.stdout.write(`redacted: ${r.redacted}\nparser:   ${r.parser}\nintent:   ${JSON.stringify(r.intent)}\n`);
    return 0;
  }
  const { createInterface } = await import('node:readline');
  let bad = 0;
  for await (const line of createInterface({ input: process.stdin, terminal: false })) {
    if (!line.trim()) continue;
    try {
      const { text } = JSON.parse(line) as { text?: unknown };
      if (typeof text !== 'string') throw new Error('each line needs a "text" string');
      process.stdout.write(`${JSON.stringify(await explainOne(text, llm))}\n`);
    } catch (e) {
      bad++;
      process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
    }
  }
  return bad ? 1 : 0;
}
