/**
 * Operator commands (PRODUCT.md "Command line"), registered by bot/cli.ts:
 *   hoist keys rotate [--new-master] [--tenant <id>] [--rewrap-only] [--batch <n>]
 *   hoist tenant export <id> [--out <file>] --reason <r>
 *   hoist tenant delete <id> --yes --reason <r>
 *   hoist tenant privacy <id> [--content-mode full|minimal] [--retention <category>=<days>…] --reason <r>
 *   hoist retention run [--tenant <id>]
 * Every access to a tenant's data is an audit event with the operator and the reason,
 * appended before the data is read. Output is the CLI's own (stdout); exit codes as bot/cli.ts.
 *
 * Master keys: HOIST_MASTER_KEY (current) + HOIST_MASTER_KEY_PREVIOUS (old, comma-separated)
 * in production; in console mode $HOIST_DATA_DIR/master.key + master.key.previous, where
 * `keys rotate --new-master` writes a new key, re-wraps every tenant key, re-signs audit
 * heads and checkpoints, and only then deletes master.key.previous.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { eq } from 'drizzle-orm';
import { appendAudit, resignAudit } from '../../db/audit.ts';
import type { DbHandle } from '../../db/client.ts';
import { Keyring, Sealer } from '../../db/crypto.ts';
import { exportTenant } from '../../db/privacy/export.ts';
import { rewrapTenantKeys, rotateTenantKey } from '../../db/privacy/keys.ts';
import { exportFilename } from '../../db/privacy/service.ts';
import { updatePrivacySettings, type RetentionCategory } from '../../db/privacy/settings.ts';
import { tenants } from '../../db/schema/index.ts';
import type { Config } from '../../bot/config.ts';
import { HoistError } from '../../bot/core/errors.ts';
import { systemClock } from '../../bot/core/types.ts';
import { createLogger } from '../../bot/infra/logger.ts';
import { masterKeyFiles, masterKeyFrom, openDb, openServices, previousMasterKeysFrom } from '../../bot/infra/services.ts';

const operator = () => { try { return `operator:${userInfo().username || 'unknown'}`; } catch { return 'operator:unknown'; } };
const out = (s: string) => process.stdout.write(s);

function keyringOf(cfg: Config): Keyring {
  return new Keyring(masterKeyFrom(cfg, 'cli'), previousMasterKeysFrom(cfg));
}

/** The keyring when one is configured or on disk; undefined rather than generating a key. */
export function existingKeyring(cfg: Config): Keyring | undefined {
  if (!cfg.HOIST_MASTER_KEY && !existsSync(masterKeyFiles(cfg).current)) return undefined;
  return keyringOf(cfg);
}

function requireReason(reason: string | undefined): string {
  if (!reason || reason.trim().length < 3) throw new HoistError('invalid_request', '--reason "<why>" is required: access to a tenant\'s data is audited with its reason');
  return reason.trim();
}

async function withDb<T>(cfg: Config, fn: (dbh: DbHandle) => Promise<T>): Promise<T> {
  const dbh = await openDb(cfg);
  try { return await fn(dbh); } finally { await dbh.close(); }
}

async function tenantExists(dbh: DbHandle, id: string): Promise<boolean> {
  return (await dbh.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id))).length > 0;
}

/** File keyring only: the current key becomes a previous one, a new key becomes current. */
function newFileMasterKey(cfg: Config): void {
  if (cfg.HOIST_MASTER_KEY) {
    throw new HoistError('invalid_request', '--new-master manages $HOIST_DATA_DIR/master.key; with HOIST_MASTER_KEY set, generate a key (openssl rand -base64 32), set it as HOIST_MASTER_KEY and the old one as HOIST_MASTER_KEY_PREVIOUS, then run hoist keys rotate');
  }
  const f = masterKeyFiles(cfg);
  masterKeyFrom(cfg, 'cli'); // creates master.key on first use
  mkdirSync(dirname(f.current), { recursive: true });
  appendFileSync(f.previous, `${readFileSync(f.current, 'utf8').trim()}\n`, { mode: 0o600 });
  chmodSync(f.previous, 0o600);
  const tmp = `${f.current}.new`;
  writeFileSync(tmp, randomBytes(32).toString('base64'), { mode: 0o600 });
  renameSync(tmp, f.current);
}

/** `config` parses the environment; bot/cli.ts owns reading it. */
export function registerAdminCommands(program: Command, setCode: (c: number) => void, config: () => Config): void {

  const keys = program.commands.find((c) => c.name() === 'keys') ?? program.command('keys').description('master and tenant keys');
  keys.command('rotate').description('re-wrap tenant keys under the current master key, then rotate tenant data keys (re-encrypting every value)')
    .option('--new-master', 'console mode: generate a new master key in $HOIST_DATA_DIR first')
    .option('--tenant <id>', 'rotate only this tenant\'s data key').option('--rewrap-only', 'do not rotate tenant data keys')
    .option('--batch <n>', 're-encryption batch size', '200')
    .action(async (o: { newMaster?: boolean; tenant?: string; rewrapOnly?: boolean; batch: string }) => {
      const cfg = config();
      if (o.newMaster) newFileMasterKey(cfg);
      const keyring = keyringOf(cfg);
      await withDb(cfg, async (dbh) => {
        const sealer = new Sealer(dbh.db, keyring);
        const { rewrapped, unreadable } = await rewrapTenantKeys(dbh.db, sealer);
        if (unreadable.length) {
          out(`WARNING: ${unreadable.length} tenant key version(s) are wrapped by a master key that is not configured (${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}); set HOIST_MASTER_KEY_PREVIOUS and run again\n`);
          setCode(1);
        }
        const signed = await resignAudit(dbh.db, keyring);
        out(`master key ${keyring.current.kid}: ${rewrapped} tenant key version(s) re-wrapped, ${signed.resigned} audit signature(s) renewed${signed.invalid ? `, ${signed.invalid} INVALID left as they are (run hoist audit verify)` : ''}\n`);
        if (o.newMaster && signed.invalid === 0 && unreadable.length === 0) {
          rmSync(masterKeyFiles(cfg).previous, { force: true });
          out('previous master key removed from the data directory\n');
        }
        if (o.rewrapOnly) return;
        const ids = o.tenant ? [o.tenant] : (await dbh.db.select({ id: tenants.id }).from(tenants)).map((t) => t.id);
        for (const id of ids) {
          let r;
          try {
            r = await rotateTenantKey(dbh.db, sealer, id, { batchSize: Math.max(1, Number(o.batch) || 200) });
          } catch (e) {
            out(`${id}: NOT rotated: ${e instanceof Error ? e.message : String(e)}\n`);
            setCode(1);
            continue;
          }
          if (!r) { out(`${id}: no data key yet, nothing to rotate\n`); continue; }
          const n = Object.entries(r.reencrypted).map(([t, c]) => `${t} ${c}`).join(', ') || 'no values';
          out(`${id}: data key v${r.from} → v${r.to}; re-encrypted ${n}; ${r.destroyedVersions} old version(s) destroyed\n`);
        }
      });
    });

  const tenant = program.commands.find((c) => c.name() === 'tenant') ?? program.command('tenant').description('tenant settings, export and erasure');
  tenant.command('export').description('everything the tenant owns, as JSON (env var names, never values)').argument('<id>')
    .option('--out <file>', 'where to write (default $HOIST_DATA_DIR/exports/<tenant>-<time>.json)').option('--reason <why>', 'required: recorded in the tenant\'s audit log')
    .action(async (id: string, o: { out?: string; reason?: string }) => {
      const reason = requireReason(o.reason);
      const cfg = config();
      await withDb(cfg, async (dbh) => {
        if (!(await tenantExists(dbh, id))) throw new HoistError('invalid_request', `no tenant ${id}`);
        const sealer = new Sealer(dbh.db, keyringOf(cfg));
        const now = systemClock.now();
        await appendAudit(dbh.db, { tenantId: id, type: 'admin.export', actor: operator(), data: { reason } }, now, sealer);
        const doc = await exportTenant(dbh.db, id, now);
        const file = resolve(o.out ?? join(resolve(cfg.HOIST_DATA_DIR), 'exports', exportFilename(id, now)));
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
        const rows = Object.values(doc.tables).reduce((a, t) => a + t.length, 0);
        out(`exported ${rows} rows of ${id} from ${Object.keys(doc.tables).length} tables to ${file}\n`);
      });
    });

  tenant.command('delete').description('erase a tenant: containers, networks, Redis keys, every row, its data keys').argument('<id>')
    .option('--yes', 'really delete').option('--reason <why>', 'required: recorded in the operator audit chain')
    .action(async (id: string, o: { yes?: boolean; reason?: string }) => {
      const reason = requireReason(o.reason);
      if (!o.yes) throw new HoistError('invalid_request', `this erases ${id} for good; add --yes`);
      const cfg = config();
      const services = await openServices(cfg, 'cli');
      const { Redis } = await import('ioredis');
      const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 2 });
      try {
        const [{ default: Dockerode }, { DockerDeployer }, { dockerOptionsFor }, { deleteTenant }] = await Promise.all([
          import('dockerode'), import('../deploy/docker-deployer.ts'), import('../deploy/docker-support.ts'), import('./tenant-delete.ts')]);
        const dockerHost = cfg.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
        const deployer = new DockerDeployer(new Dockerode(dockerOptionsFor(dockerHost)), { publishAddress: cfg.HOIST_PUBLISH_ADDRESS, dockerHostLabel: dockerHost });
        const sealer = new Sealer(services.dbh.db, new Keyring(services.masterKey, services.previousMasterKeys));
        const receipt = await deleteTenant({ db: services.dbh.db, sealer, deployer, redis, clock: systemClock, tenantId: id, reason, operator: operator() });
        const rows = Object.entries(receipt.rows).filter(([, n]) => n > 0).map(([t, n]) => `    ${t}: ${n}`);
        out([
          `Deletion receipt for tenant ${id}`,
          `  reason: ${reason}   operator: ${receipt.operator}`,
          `  started ${receipt.startedAt}, finished ${receipt.finishedAt} (${receipt.durationMs} ms)`,
          `  containers removed (and the tenant network): ${receipt.containersRemoved}`,
          `  Redis keys removed: ${receipt.redisKeysRemoved}`,
          `  data key versions destroyed (crypto-shredded): ${receipt.dataKeysDestroyed}`,
          `  rows deleted: ${Object.values(receipt.rows).reduce((a, b) => a + b, 0)}`, ...rows, '',
        ].join('\n'));
        createLogger({ level: cfg.LOG_LEVEL }).info({ op: 'tenant.deleted', containers: receipt.containersRemoved, redisKeys: receipt.redisKeysRemoved }, 'tenant.deleted');
      } finally {
        redis.disconnect();
        await services.close();
      }
    });

  tenant.command('privacy').description("a tenant's content mode and retention windows (days)").argument('<id>')
    .option('--content-mode <mode>', 'full or minimal (minimal: no message text stored at all)')
    .option('--retention <category=days...>', 'chatDays, llmDays, deploymentLogDays, analyticsDays, auditDays (≥ 90)')
    .option('--reason <why>', 'required: recorded in the tenant\'s audit log')
    .action(async (id: string, o: { contentMode?: string; retention?: string[]; reason?: string }) => {
      const reason = requireReason(o.reason);
      const cfg = config();
      await withDb(cfg, async (dbh) => {
        if (!(await tenantExists(dbh, id))) throw new HoistError('invalid_request', `no tenant ${id}`);
        const retention: Partial<Record<RetentionCategory, number>> = {};
        for (const kv of o.retention ?? []) {
          const [k, v] = kv.split('=');
          retention[k as RetentionCategory] = Number(v);
        }
        if (o.contentMode && o.contentMode !== 'full' && o.contentMode !== 'minimal') throw new HoistError('invalid_request', '--content-mode is full or minimal');
        let next;
        try {
          next = await updatePrivacySettings(dbh.db, id, { contentMode: o.contentMode as 'full' | 'minimal' | undefined, retention });
        } catch (e) {
          throw new HoistError('invalid_request', `invalid privacy settings: ${e instanceof Error ? e.message.replace(/\s+/g, ' ') : String(e)}`);
        }
        await appendAudit(dbh.db, { tenantId: id, type: 'admin.privacy_settings', actor: operator(), data: { reason, settings: next } }, systemClock.now(), new Sealer(dbh.db, keyringOf(cfg)));
        out(`${JSON.stringify(next)}\n`);
      });
    });

  const retention = program.commands.find((c) => c.name() === 'retention') ?? program.command('retention').description('retention');
  retention.command('run').description('apply every tenant\'s retention now (the workers also run it hourly)').option('--tenant <id>')
    .action(async (o: { tenant?: string }) => {
      const cfg = config();
      await withDb(cfg, async (dbh) => {
        const { runRetention } = await import('../../db/privacy/retention.ts');
        const r = await runRetention(dbh.db, new Sealer(dbh.db, keyringOf(cfg)), systemClock.now(), { tenantId: o.tenant });
        for (const [t, c] of Object.entries(r)) out(`${t}: ${Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing due'}\n`);
      });
      setCode(0);
    });
}
