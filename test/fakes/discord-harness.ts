/**
 * Hoist with its real Discord adapter (real discord.js: gateway client and REST) against
 * real PostgreSQL, Redis and Docker; only Discord itself is fake (FakeDiscordRest +
 * FakeDiscordGateway). Helpers build gateway payloads the way Discord sends them: messages,
 * button clicks, slash commands and modal submits. Every log line is recorded, so tests can
 * prove a secret never reached one.
 */
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { parseConfig } from '../../bot/config.ts';
import type { Services } from '../../bot/infra/services.ts';
import { startBot, type BotOptions } from '../../bot/main.ts';
import { createDb } from '../../db/client.ts';
import { startWorkers } from '../../workers/main.ts';
import { cleanupTenant } from '../fixtures/images.ts';
import { freshDatabase, TEST_REDIS_URL, uid } from '../fixtures/services.ts';
import { FakeDiscordGateway } from './discord-gateway.ts';
import { buttonsOf, FakeDiscordRest, newToken, snowflake, type DiscordCall } from './discord-rest.ts';
import { RecordingLogger } from './slack-harness.ts';

export const BOT_ID = '900000000000000001';
export const APP_ID = '900000000000000002';
export const USERS = { dev: '100000000000000001', approver: '100000000000000002', viewer: '100000000000000003', admin: '100000000000000004' } as const;
export const CHANNEL = '300000000000000001';
export const OTHER_CHANNEL = '300000000000000002';

const user = (id: string) => ({ id, username: `u${id.slice(-3)}`, discriminator: '0', global_name: null, avatar: null, bot: false });
const member = (id: string) => ({ user: user(id), roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0, pending: false, nick: null, avatar: null, permissions: '1071698660929' });

export interface CardInfo { actionId: string; messageId: string; channelId: string; call: DiscordCall }

/** A database the caller owns (e.g. a private PostgreSQL a fault test stops): migrated here, closed (not dropped) at stop. */
async function givenDatabase(url: string) {
  const dbh = await createDb({ url });
  await dbh.migrate();
  return { url, dbh, drop: () => dbh.close() };
}

export async function startDiscordHarness(o: {
  workers?: boolean; prefix?: string; discord?: BotOptions['discord']; beforeStart?: (prefix: string) => Promise<void>;
  /** Use this database instead of a fresh one on the shared PostgreSQL. */
  databaseUrl?: string;
} = {}) {
  const fx = o.databaseUrl ? await givenDatabase(o.databaseUrl) : await freshDatabase();
  const prefix = o.prefix ?? uid('bull-');
  const guildId = String(BigInt(`0x${randomBytes(6).toString('hex')}`) + 200000000000000000n);
  const tenantId = `discord:${guildId}`;
  const rest = await new FakeDiscordRest({ appId: APP_ID, botId: BOT_ID, guildId }).start();
  const gateway = await new FakeDiscordGateway({ botId: BOT_ID, appId: APP_ID }, { id: guildId, channels: [{ id: CHANNEL, name: 'ops' }, { id: OTHER_CHANNEL, name: 'other' }] }).start();
  rest.gatewayUrl = gateway.url;
  rest.onThread = (t) => gateway.threadCreated(t);
  const config = parseConfig({
    DATABASE_URL: fx.url, REDIS_URL: TEST_REDIS_URL, DISCORD_TOKEN: 'discord-test-token', DISCORD_APP_ID: APP_ID, DISCORD_API_URL: rest.apiUrl,
    HOIST_ADMINS: `discord:${USERS.admin}`,
  }, 'cli');
  const logs = new RecordingLogger();
  const services: Services = { dbh: fx.dbh, redisUrl: TEST_REDIS_URL, masterKey: randomBytes(32), close: async () => undefined };
  await o.beforeStart?.(prefix);
  const startedAt = Date.now();
  const bot = await startBot({ config, services, logger: logs, prefix, http: { port: 0, host: '127.0.0.1' }, discord: { restRetries: 0, ...o.discord } });
  const startMs = Date.now() - startedAt;
  const workers = o.workers === false ? undefined : await startWorkers({ config, services, logger: logs, prefix });
  const docker = new Dockerode();

  const guildChannel = (channelId: string) => {
    const thread = gateway.threads.find((t) => t.id === channelId);
    return thread
      ? { id: channelId, type: 11, guild_id: guildId, parent_id: thread.parent_id, name: thread.name, thread_metadata: thread.thread_metadata, owner_id: thread.owner_id }
      : { id: channelId, type: 0, guild_id: guildId, name: 'ops', permission_overwrites: [], nsfw: false, parent_id: null };
  };

  const interaction = (from: string, type: number, channelId: string, data: unknown, extra: { messageId?: string; dm?: boolean } = {}) => {
    const id = snowflake();
    const token = newToken();
    rest.registerInteraction(token, { channelId, ...(extra.messageId ? { messageId: extra.messageId } : {}) });
    const message = extra.messageId ? rest.messages.get(extra.messageId) : undefined;
    const base = { id, application_id: APP_ID, type, token, version: 1, channel_id: channelId, locale: 'en-US', app_permissions: '1071698660929', entitlements: [], data };
    const where = extra.dm
      ? { channel: { id: channelId, type: 1, recipients: [user(from)] }, user: user(from), context: 1, authorizing_integration_owners: { 0: '1' } }
      : { guild_id: guildId, guild_locale: 'en-US', channel: guildChannel(channelId), member: member(from), context: 0, authorizing_integration_owners: { 0: guildId } };
    const payload = { ...base, ...where, ...(message ? { message: { ...message, author: { ...(message.author as object) } } } : {}) };
    const sentAt = Date.now();
    gateway.dispatch('INTERACTION_CREATE', payload);
    return { id, token, payload, sentAt };
  };

  const h = {
    fx, rest, gateway, bot, workers, logs, tenantId, guildId, docker, store: bot.store, prefix, startMs,
    /** MESSAGE_CREATE from a person (a guild channel, a thread, or a DM with `dm: true`). */
    message(from: string, content: string, o2: { channelId?: string; dm?: boolean; id?: string } = {}) {
      const id = o2.id ?? snowflake();
      const channelId = o2.channelId ?? CHANNEL;
      const d = {
        id, type: 0, channel_id: channelId, author: user(from), content, timestamp: new Date().toISOString(), edited_timestamp: null,
        tts: false, mention_everyone: false, mentions: content.includes(`<@${BOT_ID}>`) ? [{ ...user(BOT_ID), bot: true }] : [], mention_roles: [],
        attachments: [], embeds: [], components: [], pinned: false, flags: 0, nonce: id,
        ...(o2.dm ? { channel_type: 1 } : { guild_id: guildId, member: { ...member(from), user: undefined } }),
      };
      gateway.dispatch('MESSAGE_CREATE', d);
      return { id, channelId };
    },
    mention(from: string, text: string, channelId = CHANNEL) {
      return h.message(from, `<@${BOT_ID}> ${text}`, { channelId });
    },
    /** The card posted after call index `since` (a channel message carrying hoist.approve:<id>). */
    async card(since = 0, timeoutMs = 60_000): Promise<CardInfo> {
      const call = await rest.waitFor(() => rest.calls.slice(since).find((c) => c.method === 'POST' && /\/messages$/.test(c.path) && buttonsOf(c.body).some((b) => b.custom_id.startsWith('hoist.approve:'))), 'a card', timeoutMs);
      const approve = buttonsOf(call.body).find((b) => b.custom_id.startsWith('hoist.approve:'))!;
      return { actionId: approve.custom_id.split(':')[1]!, messageId: String((call.response as { id: string }).id), channelId: /\/channels\/(\d+)\//.exec(call.path)![1]!, call };
    },
    async mentionForCard(from: string, text: string, channelId = CHANNEL) {
      const since = rest.calls.length;
      const m = h.mention(from, text, channelId);
      return { ...(await h.card(since)), request: m };
    },
    click(from: string, card: { messageId: string; channelId: string }, customId: string) {
      return interaction(from, 3, card.channelId, { custom_id: customId, component_type: 2 }, { messageId: card.messageId });
    },
    slash(from: string, sub: string, options: Record<string, string | number> = {}, o2: { channelId?: string; dm?: boolean } = {}) {
      const opts = Object.entries(options).map(([name, value]) => ({ name, value, type: typeof value === 'number' ? 4 : 3 }));
      return interaction(from, 2, o2.channelId ?? CHANNEL, { id: '700000000000000001', name: 'hoist', type: 1, options: [{ type: 1, name: sub, options: opts }] }, { dm: o2.dm });
    },
    submitModal(from: string, customId: string, value: string, channelId: string) {
      return interaction(from, 5, channelId, { custom_id: customId, components: [{ type: 1, components: [{ type: 4, custom_id: 'value', value }] }] });
    },
    /** Interaction callbacks (POST /interactions/{id}/{token}/callback) for one interaction. */
    callbacks(interactionId: string) {
      return rest.calls.filter((c) => c.path.startsWith(`/interactions/${interactionId}/`));
    },
    webhookCalls(token: string) {
      return rest.calls.filter((c) => c.path.includes(`/webhooks/${APP_ID}/${token}`));
    },
    async stop() {
      if (process.env.HOIST_TEST_LOGS) process.stderr.write(`${logs.lines.filter((l) => !l.startsWith('{"level":"debug"')).join('\n')}\n`);
      await bot.discord?.drain();
      await bot.close();
      await workers?.close();
      await gateway.close();
      await rest.close();
      await cleanupTenant(docker, tenantId);
      await fx.drop();
    },
  };
  return h;
}

export type DiscordHarness = Awaited<ReturnType<typeof startDiscordHarness>>;
