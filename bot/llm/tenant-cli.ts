/**
 * `hoist tenant llm <tenantId> [--on|--off] [--model m] [--key-stdin|--clear-key]`: a tenant's
 * LLM settings (tenants.settings.llm) and its own API key, sealed under the tenant's data key
 * (purpose `llm-key`). The key is read from stdin only, never from argv (shell history, ps),
 * and never printed. Without flags it shows the current settings.
 */
import type { LlmRepo } from '../../db/llm-repo.ts';
import { HoistError } from '../core/errors.ts';
import { LLM_KEY_PURPOSE, TenantLlmSettings } from './anthropic-parser.ts';

export interface TenantLlmFlags {
  on?: boolean;
  off?: boolean;
  model?: string;
  keyStdin?: boolean;
  clearKey?: boolean;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of input) s += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  return s.trim();
}

export async function runTenantLlm(o: {
  repo: LlmRepo;
  /** Needed only for --key-stdin. */
  sealer?: () => { seal(tenantId: string, purpose: string, value: string): Promise<Buffer> };
  tenantId: string;
  flags: TenantLlmFlags;
  stdin: NodeJS.ReadableStream;
  out: NodeJS.WritableStream;
}): Promise<number> {
  const { repo, tenantId, flags: f } = o;
  if (f.on && f.off) throw new HoistError('invalid_request', 'choose one of --on and --off');
  if (f.keyStdin && f.clearKey) throw new HoistError('invalid_request', 'choose one of --key-stdin and --clear-key');
  if (!/^(slack|discord|console):[A-Za-z0-9_.-]+$/.test(tenantId)) throw new HoistError('invalid_request', `"${tenantId}" is not a tenant id (platform:id, e.g. slack:T0123)`);
  await repo.ensureTenant(tenantId, tenantId.split(':')[0]!);
  const current = TenantLlmSettings.safeParse((await repo.tenantLlm(tenantId))?.settings ?? {});
  const next: TenantLlmSettings = current.success ? { ...current.data } : {};
  if (f.on) next.enabled = true;
  if (f.off) next.enabled = false;
  if (f.model !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(f.model)) throw new HoistError('invalid_request', `"${f.model}" is not a model name`);
    next.model = f.model;
  }
  if (f.on || f.off || f.model !== undefined) await repo.setTenantLlm(tenantId, next);
  if (f.keyStdin) {
    const key = await readAll(o.stdin);
    if (!/^\S{20,300}$/.test(key)) throw new HoistError('invalid_request', 'expected one API key on stdin (nothing was stored)');
    if (!o.sealer) throw new HoistError('config_invalid', 'HOIST_MASTER_KEY is needed to seal a key');
    await repo.setKey(tenantId, await o.sealer().seal(tenantId, LLM_KEY_PURPOSE, key));
  }
  if (f.clearKey) await repo.clearKey(tenantId);
  const row = await repo.tenantLlm(tenantId);
  const s = TenantLlmSettings.safeParse(row?.settings ?? {});
  const shown = s.success ? s.data : {};
  o.out.write(`${tenantId}: llm ${shown.enabled === false ? 'off' : shown.enabled ? 'on' : 'default (on when a key is set)'}`
    + `, model ${shown.model ?? 'server default'}, key ${row?.sealedKey ? 'own (sealed)' : 'server'}\n`);
  return 0;
}
