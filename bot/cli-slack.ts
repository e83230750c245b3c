/**
 * `hoist slack manifest [--socket] [--url <base>]`: the Slack app manifest (YAML) with
 * exactly the scopes, events, slash command and interactivity Hoist uses. Paste it at
 * "Create New App → From an app manifest". HTTP mode points every request URL at
 * `<base>/slack/events`; Socket Mode needs no public URL.
 */

/** Bot scopes and why: each one is used by bot/adapters/slack. */
const SCOPES: Array<[string, string]> = [
  ['app_mentions:read', '@hoist mentions in channels'],
  ['chat:write', 'cards, progress, results, ephemeral answers'],
  ['commands', 'the /hoist slash command'],
  ['im:history', 'messages in DMs with Hoist'],
  ['im:read', 'DMs with Hoist'],
  ['im:write', 'answering in DMs; opening the DM a privacy export is sent to'],
  ['files:write', 'privacy export: the JSON file sent to the asker in a DM'],
  ['channels:history', 'replies in threads Hoist started (public channels)'],
  ['groups:history', 'replies in threads Hoist started (private channels)'],
];

const EVENTS = ['app_mention', 'message.im', 'message.channels', 'message.groups'];

const q = (s: string) => JSON.stringify(s);

export function slackManifest(o: { socket: boolean; url?: string; name?: string }): string {
  const base = (o.url ?? 'https://<your-host>').replace(/\/+$/, '');
  const endpoint = `${base}/slack/events`;
  const name = o.name ?? 'Hoist';
  const lines = [
    `# Slack app manifest for Hoist (${o.socket ? 'Socket Mode' : 'HTTP'}). Create the app from it, install it,`,
    `# then set SLACK_BOT_TOKEN and ${o.socket ? 'SLACK_APP_TOKEN (an app-level token with connections:write)' : 'SLACK_SIGNING_SECRET'}.`,
    'display_information:',
    `  name: ${q(name)}`,
    '  description: "Privacy-first chat-ops deploys: propose, approve, roll out, report."',
    '  background_color: "#1d3557"',
    'features:',
    '  bot_user:',
    `    display_name: ${q(name.toLowerCase())}`,
    '    always_online: true',
    '  app_home:',
    '    messages_tab_enabled: true',
    '    messages_tab_read_only_enabled: false',
    '  slash_commands:',
    '    - command: /hoist',
    ...(o.socket ? [] : [`      url: ${q(endpoint)}`]),
    '      description: "Deploy, roll back, scale and inspect apps"',
    '      usage_hint: "deploy <app> <tag> | status [<app>] | logs <app> | env <app> <KEY> | help"',
    // Escaping turns @user into <@U…> so `grant @user deployer` names the right person.
    '      should_escape: true',
    'oauth_config:',
    '  scopes:',
    '    bot:',
    ...SCOPES.map(([s, why]) => `      - ${s}  # ${why}`),
    'settings:',
    '  event_subscriptions:',
    ...(o.socket ? [] : [`    request_url: ${q(endpoint)}`]),
    '    bot_events:',
    ...EVENTS.map((e) => `      - ${e}`),
    '  interactivity:',
    '    is_enabled: true',
    ...(o.socket ? [] : [`    request_url: ${q(endpoint)}`]),
    '  org_deploy_enabled: false',
    `  socket_mode_enabled: ${o.socket}`,
    '  token_rotation_enabled: false',
  ];
  return `${lines.join('\n')}\n`;
}
