/** Cloud and infrastructure providers: AWS, GCP, Azure, DigitalOcean, Heroku, Cloudflare, Databricks, HashiCorp, Pulumi. */
import { PRIORITY, regexRule, tokenRule, type Detector } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { charClasses, isDigestLike, isPlaceholderValue, looksFakeToken } from '../values.ts';
import { shannonEntropy } from '../entropy.ts';

const awsSecretShape = (v: string): boolean => {
  const c = charClasses(v);
  return c.upper && c.lower && c.digit && !isPlaceholderValue(v) && shannonEntropy(v) >= 4;
};

const AWS_SECRET_VALUE = /(?<![A-Za-z0-9/+])(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/;

const isAlnum = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

/** The lead regex /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/y by hand: its end, or -1. */
export function awsKeyIdEnd(text: string, at: number): number {
  if (at > 0 && isAlnum(text.charCodeAt(at - 1))) return -1;
  if (!text.startsWith('AKIA', at) && !text.startsWith('ASIA', at)) return -1;
  for (let i = at + 4; i < at + 20; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 50 && c <= 55))) return -1;
  }
  return isAlnum(text.charCodeAt(at + 20)) ? -1 : at + 20;
}

/** [A-Za-z0-9/+] by table: one load per char instead of five range tests (the finder reads whole texts). */
const AWS_SECRET_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) AWS_SECRET_CHAR[c] = /[A-Za-z0-9/+]/.test(String.fromCharCode(c)) ? 1 : 0;
const isAwsSecretChar = (c: number): boolean => c < 128 && AWS_SECRET_CHAR[c] === 1;

/**
 * AWS_SECRET_VALUE by hand: a maximal run of exactly 40 chars of its alphabet, not
 * followed by `=`, starting in [from, to). The regex tries every position of a long run;
 * this reads each char once and never past `to` except to finish a run of 41.
 */
export function findAwsSecretValues(text: string, from: number, to: number, out: number[]): void {
  const n = text.length;
  let i = from;
  // A run already under way at `from` cannot start a match inside [from, to).
  if (i > 0 && isAwsSecretChar(text.charCodeAt(i - 1))) while (i < to && isAwsSecretChar(text.charCodeAt(i))) i++;
  while (i < to) {
    if (!isAwsSecretChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const s = i;
    while (i < n && i - s <= 40 && isAwsSecretChar(text.charCodeAt(i))) i++;
    if (i - s === 40 && text.charCodeAt(i) !== 61) out.push(s, i);
    // The rest of a longer run starts no match; no start lies at or past `to`.
    while (i < to && isAwsSecretChar(text.charCodeAt(i))) i++;
  }
}

export const cloudDetectors: readonly Detector[] = [
  tokenRule({ kind: 'aws_access_key_id', prefixes: ['AKIA', 'ASIA', 'ABIA', 'ACCA'], body: '[A-Z2-7]{16}', edge: 'A-Za-z0-9' }),
  contextRule({
    id: 'aws_secret_access_key',
    kinds: ['aws_secret_access_key'],
    triggers: ['aws_secret', 'secret_access_key', 'secretaccesskey', 'secret-access-key', 'secret access key'],
    lead: /(?:aws_secret(?:_access)?(?:_key)?|secret[_\- ]?access[_\- ]?key)/i,
    window: 40,
    maxValue: 41,
    value: AWS_SECRET_VALUE,
    find: findAwsSecretValues,
    priority: PRIORITY.context,
    accept: awsSecretShape,
  }),
  // A key id followed shortly by a 40-char base64 string is the credentials CSV / `aws configure` shape.
  contextRule({
    id: 'aws_secret_after_key_id',
    kinds: ['aws_secret_access_key'],
    triggers: ['AKIA', 'ASIA'],
    caseSensitive: true,
    lead: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/,
    leadEnd: awsKeyIdEnd,
    window: 160,
    maxValue: 41,
    sameLine: false,
    value: AWS_SECRET_VALUE,
    find: findAwsSecretValues,
    priority: PRIORITY.context,
    accept: awsSecretShape,
  }),
  tokenRule({
    kind: 'aws_session_token',
    prefixes: ['IQoJb3JpZ2luX2Vj', 'FwoGZXIvYXdzE'],
    body: '[A-Za-z0-9/+%]{60,4000}={0,2}',
    edge: 'A-Za-z0-9/+%',
  }),
  regexRule({
    id: 'aws_session_token_context',
    kinds: ['aws_session_token'],
    triggers: ['aws_session_token', 'sessiontoken', 'session_token', 'x-amz-security-token'],
    re: /(?:aws_session_token|session_?token|x-amz-security-token)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?<s>[A-Za-z0-9/+%]{100,4000}={0,2})(?![A-Za-z0-9/+%=])/i,
    priority: PRIORITY.context,
    accept: (v) => !looksFakeToken(v),
  }),
  regexRule({
    id: 'aws_presigned_signature',
    kinds: ['aws_presigned_signature'],
    triggers: ['x-amz-signature='],
    re: /x-amz-signature=(?<s>[a-f0-9]{64})(?![a-f0-9])/i,
    priority: PRIORITY.context,
  }),
  tokenRule({ kind: 'gcp_api_key', prefixes: ['AIza'], body: '[0-9A-Za-z_\\-]{35}' }),
  tokenRule({ kind: 'gcp_oauth_client_secret', prefixes: ['GOCSPX-'], body: '[A-Za-z0-9_\\-]{28}' }),
  regexRule({
    id: 'azure_storage_account_key',
    kinds: ['azure_storage_account_key'],
    triggers: ['accountkey'],
    re: /accountkey["']?[ \t]{0,2}[:=][ \t]{0,2}["']?(?<s>[A-Za-z0-9+/]{86}==)/i,
    priority: PRIORITY.structured,
    accept: (v) => !looksFakeToken(v),
  }),
  regexRule({
    id: 'azure_sas_signature',
    kinds: ['azure_sas_signature'],
    triggers: ['sig='],
    re: /(?<=[?&;])sig=(?<s>[A-Za-z0-9%+/=]{20,256})(?![A-Za-z0-9%+/=])/i,
    priority: PRIORITY.structured,
    accept: (v) => !looksFakeToken(v) && shannonEntropy(v) >= 3.5,
  }),
  regexRule({
    id: 'azure_ad_client_secret',
    kinds: ['azure_ad_client_secret'],
    triggers: ['Q~'],
    caseSensitive: true,
    re: /(?<=(?<![A-Za-z0-9_~.-])(?<pre>[A-Za-z0-9_~.-]{3}\d))Q~(?<s>[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~-]|\.[A-Za-z0-9_~-])/,
    priority: PRIORITY.token,
    accept: (v) => !looksFakeToken(v),
  }),
  tokenRule({ kind: 'digitalocean_pat', prefixes: ['dop_v1_'], body: '[a-f0-9]{64}' }),
  tokenRule({ kind: 'digitalocean_oauth_token', prefixes: ['doo_v1_'], body: '[a-f0-9]{64}' }),
  tokenRule({ kind: 'digitalocean_refresh_token', prefixes: ['dor_v1_'], body: '[a-f0-9]{64}' }),
  tokenRule({ kind: 'heroku_api_key', prefixes: ['HRKU-'], body: '[A-Za-z0-9_\\-]{40,80}' }),
  // Classic Heroku keys are bare UUIDs, so they only count next to a Heroku key name.
  regexRule({
    id: 'heroku_api_key_uuid',
    kinds: ['heroku_api_key'],
    triggers: ['heroku'],
    re: /heroku[_\- ]?(?:api[_\- ]?key|api[_\- ]?token|auth[_\- ]?token|token|key)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?<s>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9a-f-])/i,
    priority: PRIORITY.context,
  }),
  contextRule({
    id: 'cloudflare',
    kinds: ['cloudflare_api_token', 'cloudflare_api_key'],
    triggers: ['cloudflare', 'cf_api', 'cf-api', 'cf_token', 'x-auth-key'],
    lead: /(?:cloudflare[\w\- ]{0,30}?(?:token|key|secret)|cf[_-]api[_-]?(?:token|key)|cf_token|x-auth-key)/i,
    window: 40,
    maxValue: 41,
    value: /(?<![A-Za-z0-9_-])(?<s>[a-f0-9]{37}|[A-Za-z0-9_-]{40})(?![A-Za-z0-9_-])/,
    priority: PRIORITY.context,
    accept: (v) => !isDigestLike(v) && !looksFakeToken(v) && (v.length === 37 || (charClasses(v).digit && shannonEntropy(v) >= 3.8)),
    kindOf: (v) => (v.length === 37 ? 'cloudflare_api_key' : 'cloudflare_api_token'),
  }),
  tokenRule({ kind: 'cloudflare_origin_ca_key', prefixes: ['v1.0-'], body: '[a-f0-9]{24}-[a-f0-9]{146}' }),
  tokenRule({ kind: 'databricks_token', prefixes: ['dapi'], body: '[a-f0-9]{32}(?:-\\d)?' }),
  regexRule({
    id: 'terraform_cloud_token',
    kinds: ['terraform_cloud_token'],
    triggers: ['.atlasv1.'],
    caseSensitive: true,
    re: /(?<=(?<![A-Za-z0-9])(?<pre>[A-Za-z0-9]{14}))\.atlasv1\.(?<s>[A-Za-z0-9_\-=]{60,70})(?![A-Za-z0-9_\-=])/,
    priority: PRIORITY.token,
    accept: (v) => !looksFakeToken(v),
  }),
  tokenRule({ kind: 'pulumi_access_token', prefixes: ['pul-'], body: '[a-f0-9]{40}' }),
  tokenRule({ kind: 'vault_token', prefixes: ['hvs.'], body: '[A-Za-z0-9_\\-]{24,256}' }),
  tokenRule({ kind: 'vault_batch_token', prefixes: ['hvb.'], body: '[A-Za-z0-9_\\-]{24,512}' }),
  // Legacy `s.` tokens: the prefix is ordinary prose, so demand a mixed-case random body.
  tokenRule({
    kind: 'vault_token',
    prefixes: ['s.'],
    body: '[A-Za-z0-9]{24}',
    edge: 'A-Za-z0-9_.\\-',
    lead: 'A-Za-z0-9_.\\-',
    check: (b) => {
      const c = charClasses(b);
      return c.upper && c.lower && c.digit && shannonEntropy(b) >= 3.8;
    },
  }),
];
