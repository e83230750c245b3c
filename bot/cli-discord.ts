/**
 * `hoist discord register-commands [--guild <id>]`: PUTs the `/hoist` slash command
 * (bot/adapters/discord/discord-commands.ts) for the app in DISCORD_APP_ID. With `--guild`
 * it is a guild command (appears at once: for development); without, a global command
 * (Discord may take up to an hour to show it everywhere). PUT replaces the app's whole
 * command list in that scope, so running it again is safe.
 */
import { REST, Routes } from 'discord.js';
import { hoistCommands } from './adapters/discord/discord-commands.ts';
import { HoistError } from './core/errors.ts';

export interface RegisterOptions {
  token?: string;
  appId?: string;
  apiUrl?: string;
  guild?: string;
}

export async function registerCommands(o: RegisterOptions): Promise<string> {
  const missing = [!o.token && 'DISCORD_TOKEN', !o.appId && 'DISCORD_APP_ID'].filter(Boolean);
  if (missing.length) throw new HoistError('config_invalid', `Set ${missing.join(' and ')} to register the /hoist command.`);
  if (o.guild !== undefined && !/^\d{5,25}$/.test(o.guild)) throw new HoistError('invalid_request', `--guild takes a guild id (digits), not "${o.guild}".`);
  const rest = new REST({ ...(o.apiUrl ? { api: o.apiUrl.replace(/\/+$/, '') } : {}), retries: 1, timeout: 15_000 }).setToken(o.token!);
  const route = o.guild ? Routes.applicationGuildCommands(o.appId!, o.guild) : Routes.applicationCommands(o.appId!);
  const body = hoistCommands();
  const saved = await rest.put(route, { body }) as Array<{ name: string; options?: unknown[] }>;
  const subs = saved.find((c) => c.name === 'hoist')?.options?.length ?? body[0]!.options.length;
  return o.guild
    ? `Registered /hoist (${subs} subcommands) in guild ${o.guild}; it is usable there now.\n`
    : `Registered /hoist (${subs} subcommands) globally; Discord may take up to an hour to show it in every server.\n`;
}
