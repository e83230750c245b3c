import { describe, expect, it } from 'vitest';
import { redact } from '../../bot/pipeline/redact/index.ts';
import {
  ALPHA, b64, githubTokenBadChecksum, hex, makeRand, mixed, pemBlock, str, uuid, type Rand,
} from '../fixtures/redact/fake-tokens.ts';
import { FIXED_NEGATIVES, NEGATIVE_MAKERS } from '../fixtures/redact/negatives.ts';

/** Look-alikes per kind: each must not be reported as that kind (most must not be reported at all). */
const LOOKALIKES: readonly [kind: string, make: (r: Rand) => string][] = [
  ['github_pat', (r) => `token ${githubTokenBadChecksum(r)}`],
  ['github_oauth_token', (r) => githubTokenBadChecksum(r, 'gho_')],
  ['aws_access_key_id', () => 'AKIAIOSFODNN7EXAMPLE'],
  ['aws_access_key_id', (r) => `AKIA${str(r, ALPHA.base32, 15)}`],
  ['aws_secret_access_key', () => 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['aws_secret_access_key', (r) => `AKIAIOSFODNN7EXAMPLE commit ${hex(r, 40)}`],
  ['stripe_secret_key', (r) => `pk_live_${mixed(r, ALPHA.alnum, 40)}`],
  ['stripe_secret_key', () => 'sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
  ['mapbox_secret_token', (r) => `pk.eyJ${mixed(r, ALPHA.b64url, 60)}.${mixed(r, ALPHA.b64url, 22)}`],
  ['slack_bot_token', () => 'xoxb-<your-bot-token>'],
  ['slack_webhook_url', () => 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
  ['discord_bot_token', (r) => `${mixed(r, ALPHA.b64url, 24).replace(/^./, 'M')}.${mixed(r, ALPHA.b64url, 6)}.${mixed(r, ALPHA.b64url, 38)}`],
  ['telegram_bot_token', (r) => `12345:AA${mixed(r, ALPHA.b64url, 33)}`],
  ['twilio_account_sid', (r) => `AC${hex(r, 31)}`],
  ['jwt', () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0'],
  ['vault_token', () => 'it works. s.abcdefghijklmnopqrstuvwx is lowercase prose'],
  ['age_secret_key', (r) => `age1${str(r, ALPHA.bech32, 58)}`],
  ['heroku_api_key', (r) => `heroku release id ${uuid(r)}`],
  ['datadog_api_key', (r) => `datadog trace ${hex(r, 32)}`],
  ['twilio_auth_token', (r) => `twilio message sid SM${hex(r, 32)}`],
  ['rsa_private_key', () => '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----'],
  ['private_key', (r) => pemBlock(r, 'PUBLIC KEY')],
  ['private_key', (r) => pemBlock(r, 'CERTIFICATE')],
  ['basic_auth', (r) => `Basic ${b64(str(r, ALPHA.lower, 12))} (no colon inside)`],
  ['basic_auth', () => 'Basic auth is enabled'],
  ['bearer_token', () => 'Authorization: Bearer <token>'],
  ['postgres_url_password', () => 'postgres://app:${DB_PASSWORD}@db:5432/app'],
  ['http_url_password', () => 'https://example.com:8443/path and https://user@example.com/'],
  ['password', () => 'password reset link; PASSWORD_FILE=/run/secrets/db; password_min_length: 12'],
  ['password', () => 'const password = req.body.password; password: string;'],
  ['token', () => 'max_tokens: 4096\nnext_page_token: abc123def456\ntoken_ttl=3600'],
  ['api_key', () => 'STRIPE_PUBLISHABLE_KEY=pk_test_123 and key: app.kubernetes.io/name'],
  ['secret', () => 'secretName: db-creds\nsecretKeyRef:\n  name: x\nsecret: true'],
  ['k8s_secret_data', () => 'kind: ConfigMap\ndata:\n  LOG_LEVEL: ZGVidWc=\n'],
  ['generic_high_entropy_secret', (r) => `the token trace is ${hex(r, 32)} and key ${uuid(r)} at /usr/local/lib/node_modules/x`],
  ['mysql_cli_password', () => 'mysql -u root -p mydb'],
  ['redis_cli_password', () => 'redis-cli -a $REDIS_PASSWORD ping'],
  ['connection_string_password', () => 'Server=db;Database=app;Password={your_password};'],
];

describe('look-alikes are not reported', () => {
  for (const [kind, make] of LOOKALIKES) {
    it(`${kind}: ${make(makeRand(1)).slice(0, 60).replace(/\n/g, '⏎')}`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const input = make(makeRand(seed));
        const found = redact(input).findings;
        expect(found.filter((f) => f.type === kind), JSON.stringify(found)).toEqual([]);
      }
    });
  }
});

describe('no-false-positive corpus', () => {
  it('fixed strings named in the contract stay untouched', () => {
    for (const s of FIXED_NEGATIVES) expect(redact(s).text, s).toBe(s);
  });

  it('every generated clean message stays untouched', () => {
    const r = makeRand(2024);
    for (let i = 0; i < 20; i++) {
      NEGATIVE_MAKERS.forEach((make, k) => {
        const input = make(r);
        const { findings } = redact(input);
        expect(findings, `maker ${k}: ${JSON.stringify(input)}`).toEqual([]);
      });
    }
  });
});
