/** Chat, messaging and e-mail providers: Slack, Discord, Telegram, Twilio, SendGrid, Mailgun, Mailchimp, FCM. */
import { PRIORITY, regexRule, tokenRule, type Detector } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { looksFakeToken } from '../values.ts';

const SLACK_BODY = '[0-9]{1,16}-[0-9A-Za-z\\-]{10,250}';

/** A Discord bot token's first part is the bot's numeric snowflake id in base64. */
function isBase64Snowflake(part: string): boolean {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const decoded = Buffer.from(b64, 'base64').toString('latin1');
  return /^\d{17,20}$/.test(decoded);
}

// base64 of an ASCII digit 1-9 starts with M/N/O; of two digits, with one of D/T/j/z next.
const DISCORD_TRIGGERS = ['M', 'N', 'O'].flatMap((a) => ['D', 'T', 'j', 'z'].map((b) => a + b));

export const chatDetectors: readonly Detector[] = [
  tokenRule({ kind: 'slack_bot_token', prefixes: ['xoxb-'], body: SLACK_BODY }),
  tokenRule({ kind: 'slack_user_token', prefixes: ['xoxp-'], body: SLACK_BODY }),
  tokenRule({ kind: 'slack_workspace_token', prefixes: ['xoxa-'], body: SLACK_BODY }),
  tokenRule({ kind: 'slack_session_token', prefixes: ['xoxs-', 'xoxc-'], body: SLACK_BODY }),
  tokenRule({ kind: 'slack_refresh_token', prefixes: ['xoxe-'], body: '\\d-[A-Za-z0-9_\\-]{20,250}' }),
  tokenRule({ kind: 'slack_config_token', prefixes: ['xoxe.xoxp-', 'xoxe.xoxb-'], body: '\\d-[A-Za-z0-9_\\-]{20,250}' }),
  tokenRule({ kind: 'slack_app_token', prefixes: ['xapp-'], body: '\\d-[A-Za-z0-9]{6,20}-\\d{6,20}-[A-Za-z0-9]{20,80}' }),
  regexRule({
    id: 'slack_webhook_url',
    kinds: ['slack_webhook_url'],
    triggers: ['hooks.slack.com/'],
    caseSensitive: true,
    re: /(?<=(?<pre>https?:\/\/)?)(?<s>hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_-]{6,20}\/[A-Za-z0-9_\-/]{10,200})(?![A-Za-z0-9_\-/])/,
    priority: PRIORITY.token,
    accept: (v) => !looksFakeToken(v.slice(v.lastIndexOf('/') + 1)),
  }),
  regexRule({
    id: 'discord_bot_token',
    kinds: ['discord_bot_token'],
    triggers: DISCORD_TRIGGERS,
    caseSensitive: true,
    re: /(?<![A-Za-z0-9_\-.])(?<p1>[MNO][A-Za-z0-9_-]{23,27})\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-]|\.[A-Za-z0-9_-])/,
    priority: PRIORITY.token,
    accept: (v, m) => isBase64Snowflake(m.groups?.['p1'] ?? '') && !looksFakeToken(v),
  }),
  regexRule({
    id: 'discord_webhook_url',
    kinds: ['discord_webhook_url'],
    triggers: ['discord.com/api/', 'discordapp.com/api/'],
    caseSensitive: true,
    re: /(?<=(?<pre>https?:\/\/(?:canary\.|ptb\.)?)?)(?<s>discord(?:app)?\.com\/api\/(?:v\d{1,2}\/)?webhooks\/\d{15,25}\/[A-Za-z0-9_-]{40,100})(?![A-Za-z0-9_-])/,
    priority: PRIORITY.token,
  }),
  regexRule({
    id: 'telegram_bot_token',
    kinds: ['telegram_bot_token'],
    triggers: [':AA'],
    caseSensitive: true,
    re: /(?<=(?<![A-Za-z0-9_:])(?<pre>\d{8,10})):(?<s>AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])/,
    priority: PRIORITY.token,
    accept: (v) => !looksFakeToken(v.slice(2)),
  }),
  tokenRule({ kind: 'twilio_api_key', prefixes: ['SK'], body: '[0-9a-f]{32}', edge: 'A-Za-z0-9' }),
  tokenRule({ kind: 'twilio_account_sid', prefixes: ['AC'], body: '[0-9a-f]{32}', edge: 'A-Za-z0-9' }),
  contextRule({
    id: 'twilio_auth_token',
    kinds: ['twilio_auth_token'],
    triggers: ['twilio'],
    lead: /twilio/i,
    window: 80,
    maxValue: 33,
    value: /(?<![A-Za-z0-9])(?<s>[a-f0-9]{32})(?![A-Za-z0-9])/,
    priority: PRIORITY.context,
    accept: (v) => !looksFakeToken(v),
  }),
  tokenRule({ kind: 'sendgrid_api_key', prefixes: ['SG.'], body: '[A-Za-z0-9_\\-]{22}\\.[A-Za-z0-9_\\-]{43}' }),
  tokenRule({ kind: 'mailgun_api_key', prefixes: ['key-'], body: '[0-9a-f]{32}' }),
  regexRule({
    id: 'mailchimp_api_key',
    kinds: ['mailchimp_api_key'],
    triggers: ['-us'],
    caseSensitive: true,
    re: /(?<=(?<![A-Za-z0-9])(?<pre>[0-9a-f]{32}))-us(?<s>\d{1,2})(?![A-Za-z0-9])/,
    priority: PRIORITY.token,
    accept: (_v, m, text) => !looksFakeToken(text.slice(m.index - 32, m.index)),
  }),
  regexRule({
    id: 'fcm_server_key',
    kinds: ['fcm_server_key'],
    triggers: [':APA91b'],
    caseSensitive: true,
    re: /(?<=(?<![A-Za-z0-9_-])(?<pre>AAAA[A-Za-z0-9_-]{7})):APA91b(?<s>[A-Za-z0-9_-]{100,200})(?![A-Za-z0-9_-])/,
    priority: PRIORITY.token,
  }),
];
