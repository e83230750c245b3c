/**
 * The `/hoist` slash command: one command, one subcommand per verb of PRODUCT.md, options
 * as strings and integers. `hoist discord register-commands` PUTs exactly this; the adapter
 * turns a used subcommand back into the chat form the pipeline reads (`slashText`), so slash
 * commands, mentions and DMs share one grammar. `set` has no value option on purpose: a value
 * typed into a slash option is shown to the whole channel, so `set` opens a private modal.
 */

/** Discord's option types (API numbers), kept local so this file stays data. */
const T = { sub: 1, string: 3, integer: 4, user: 6 } as const;

interface Option {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  min_value?: number;
  max_value?: number;
  max_length?: number;
  choices?: Array<{ name: string; value: string }>;
}

const app = (required = true): Option => ({ type: T.string, name: 'app', description: 'app name', required, max_length: 40 });
const key: Option = { type: T.string, name: 'key', description: 'env var name, e.g. DATABASE_URL', required: true, max_length: 64 };
const sub = (name: string, description: string, options: Option[] = []) => ({ type: T.sub, name, description, options });

export const SUBCOMMANDS = [
  sub('deploy', 'create or update an app (needs approval)', [
    app(),
    { type: T.string, name: 'tag', description: 'new tag for the current image, e.g. 1.4.2', max_length: 128 },
    { type: T.string, name: 'image', description: 'image reference, e.g. registry.example.com/acme/web:1.4.2', max_length: 256 },
    { type: T.string, name: 'from', description: 'git URL to build from, optionally #ref', max_length: 512 },
    { type: T.integer, name: 'port', description: 'container port to publish', min_value: 1, max_value: 65535 },
    { type: T.string, name: 'to', description: 'environment, e.g. staging or production', max_length: 40 },
    { type: T.integer, name: 'replicas', description: 'how many replicas', min_value: 1, max_value: 50 },
  ]),
  sub('rollback', 'redeploy the previous (or a named) good deployment', [app(), { type: T.string, name: 'to', description: 'deployment id', max_length: 64 }]),
  sub('restart', 'restart an app', [app()]),
  sub('stop', 'stop an app', [app()]),
  sub('start', 'start a stopped app', [app()]),
  sub('scale', 'run n replicas', [app(), { type: T.integer, name: 'replicas', description: 'how many replicas', required: true, min_value: 0, max_value: 50 }]),
  sub('set', 'set an env var; the value is asked for in a private form', [app(), key]),
  sub('unset', 'remove an env var', [app(), key]),
  sub('status', 'status of all apps or one', [app(false)]),
  sub('apps', 'list apps'),
  sub('history', 'deployments of an app', [app()]),
  sub('logs', 'recent log lines (redacted)', [app(), { type: T.integer, name: 'lines', description: 'how many lines', min_value: 1, max_value: 500 }]),
  sub('privacy', 'what Hoist keeps; export; forget me', [{
    type: T.string, name: 'request', description: 'what to do',
    choices: [{ name: 'show what is kept', value: 'show' }, { name: 'export (admins)', value: 'export' }, { name: 'forget me', value: 'forget me' }],
  }]),
  sub('grant', 'give someone a role (admins)', [
    { type: T.user, name: 'user', description: 'who', required: true },
    { type: T.string, name: 'role', description: 'role', required: true, choices: ['viewer', 'deployer', 'approver', 'admin'].map((r) => ({ name: r, value: r })) },
  ]),
  sub('revoke', "remove someone's role (admins)", [{ type: T.user, name: 'user', description: 'who', required: true }]),
  sub('help', 'what Hoist understands'),
];

/** The body of PUT /applications/{app}/commands (or …/guilds/{guild}/commands). */
export function hoistCommands() {
  return [{
    name: 'hoist',
    type: 1,
    description: 'Deploy, roll back, scale and inspect apps',
    // Guild channels and DMs with the bot (DMs are a personal tenant; see discord-normalize.ts).
    contexts: [0, 1],
    integration_types: [0],
    options: SUBCOMMANDS,
  }];
}
