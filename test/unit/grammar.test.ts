import { describe, expect, it } from 'vitest';
import type { RedactedText } from '../../bot/core/types.ts';
import { parseGrammar } from '../../bot/pipeline/grammar.ts';
import { IntentSchema } from '../../workers/contract/index.ts';

const p = (s: string) => parseGrammar(s as RedactedText);

describe('offline grammar: every PRODUCT.md form', () => {
  it.each([
    ['deploy web image hoist-demo/httpd:1 port 8080', { action: 'deploy', app: 'web', image: 'hoist-demo/httpd:1', port: 8080 }],
    ['deploy api 1.4.2 to staging', { action: 'deploy', app: 'api', image: ':1.4.2', environment: 'staging' }],
    ['@hoist deploy api image registry.example.com/acme/api:2 replicas 3 to production', { action: 'deploy', app: 'api', image: 'registry.example.com/acme/api:2', replicas: 3, environment: 'production' }],
    ['deploy site from https://git.example/site.git#main port 80', { action: 'deploy', app: 'site', source: 'https://git.example/site.git', ref: 'main', port: 80 }],
    ['deploy web', { action: 'deploy', app: 'web' }],
    ['deploy web image hoist-demo/httpd:1 port 8080 health /healthz', { action: 'deploy', app: 'web', image: 'hoist-demo/httpd:1', port: 8080, healthPath: '/healthz' }],
    ['deploy web 2 health /ready?full=1', { action: 'deploy', app: 'web', image: ':2', healthPath: '/ready?full=1' }],
    ['deploy api image x:1 to staging on swarm', { action: 'deploy', app: 'api', image: 'x:1', environment: 'staging', target: 'swarm' }],
    ['deploy api on Edge-2', { action: 'deploy', app: 'api', target: 'edge-2' }],
    ['deploy api 3 on default replicas 2', { action: 'deploy', app: 'api', image: ':3', target: 'default', replicas: 2 }],
    ['rollback web', { action: 'rollback', app: 'web' }],
    ['rollback web to dep-abc123', { action: 'rollback', app: 'web', deployment: 'dep-abc123' }],
    ['restart web', { action: 'restart', app: 'web' }],
    ['stop web', { action: 'stop', app: 'web' }],
    ['START Web', { action: 'start', app: 'web' }],
    ['scale web to 2', { action: 'scale', app: 'web', replicas: 2 }],
    ['set DATABASE_URL=⟦secret:1:env_value⟧ on api', { action: 'set_env', app: 'api', key: 'DATABASE_URL', value: '⟦secret:1:env_value⟧' }],
    ['set API_KEY on api', { action: 'set_env', app: 'api', key: 'API_KEY' }],
    ['unset API_KEY on api', { action: 'unset_env', app: 'api', key: 'API_KEY' }],
    ['status', { action: 'status' }],
    ['status web', { action: 'status', app: 'web' }],
    ['apps', { action: 'apps' }],
    ['history web', { action: 'history', app: 'web' }],
    ['logs web', { action: 'logs', app: 'web' }],
    ['logs web 20', { action: 'logs', app: 'web', lines: 20 }],
    ['privacy', { action: 'privacy', request: 'show' }],
    ['privacy export', { action: 'privacy', request: 'export' }],
    ['privacy forget me', { action: 'privacy', request: 'forget_me' }],
    ['grant @bob deployer', { action: 'grant', user: 'bob', role: 'deployer' }],
    ['grant <@U0123ABC> approver', { action: 'grant', user: 'U0123ABC', role: 'approver' }],
    ['revoke <@!123456789012345678>', { action: 'revoke', user: '123456789012345678' }],
    ['help', { action: 'help' }],
    ['/hoist status', { action: 'status' }],
  ])('%s', (text, expected) => {
    const intent = p(text);
    expect(intent).toEqual(expected);
    expect(IntentSchema.parse(intent)).toEqual(expected);
  });

  it.each([
    ['dance', /don't know "dance"/],
    ['deploy', /Which app\?/],
    ['deploy Web_App image x', /not a valid app name/],
    ['scale web to many', /whole number/],
    ['scale web to 99', /between 0 and 20/],
    ['deploy web port', /needs a value/],
    ['deploy web health', /"health" needs a value/],
    ['deploy web health healthz', /health path must start with \//],
    ['deploy web on', /"on" needs a value/],
    ['deploy web on my_box', /"my_box" is not a deploy target name/],
    ['deploy web image a from b', /either an image or a git source/],
    ['logs web lots', /whole number/],
    ['set DATABASE_URL=plaintext on api', /not sealed/],
    ['grant @bob emperor', /Usage: grant/],
    ['', /help/],
    ['deploy web port 70000', /between 1 and 65535/],
  ])('unknown with a reason: %s', (text, reason) => {
    const intent = p(text);
    expect(intent.action).toBe('unknown');
    expect(intent.reason).toMatch(reason);
  });

  it('leaves absent fields out, never null', () => {
    expect(Object.values(p('deploy web image x:1'))).not.toContain(null);
    expect(Object.keys(p('status'))).toEqual(['action']);
  });
});
