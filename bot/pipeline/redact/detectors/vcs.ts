/** Code hosting and package registries: GitHub, GitLab, Bitbucket/Atlassian, npm, PyPI, Docker Hub. */
import { tokenRule, type Detector } from '../detector.ts';
import { hasGithubChecksum } from '../crc32.ts';

// Classic GitHub tokens carry a CRC32 of their random part; a failed check means a doc
// example or a typo, which is what lets us redact these without any context.
const github = (kind: string, prefix: string): Detector =>
  tokenRule({ kind, prefixes: [prefix], body: '[A-Za-z0-9]{36}', check: hasGithubChecksum });

const GITLAB_BODY = '[A-Za-z0-9_\\-]{20,64}(?:\\.[0-9a-z]{2}\\.[A-Za-z0-9_\\-]{6,16})?';

export const vcsDetectors: readonly Detector[] = [
  github('github_pat', 'ghp_'),
  github('github_oauth_token', 'gho_'),
  github('github_user_token', 'ghu_'),
  github('github_server_token', 'ghs_'),
  github('github_refresh_token', 'ghr_'),
  tokenRule({ kind: 'github_fine_grained_pat', prefixes: ['github_pat_'], body: '[A-Za-z0-9]{22}_[A-Za-z0-9]{59}' }),
  tokenRule({ kind: 'gitlab_pat', prefixes: ['glpat-'], body: GITLAB_BODY }),
  tokenRule({ kind: 'gitlab_runner_token', prefixes: ['glrt-'], body: GITLAB_BODY }),
  tokenRule({ kind: 'gitlab_runner_registration_token', prefixes: ['GR1348941'], body: '[A-Za-z0-9_\\-]{20,64}' }),
  tokenRule({ kind: 'gitlab_pipeline_trigger_token', prefixes: ['glptt-'], body: GITLAB_BODY }),
  tokenRule({ kind: 'gitlab_deploy_token', prefixes: ['gldt-'], body: GITLAB_BODY }),
  tokenRule({ kind: 'gitlab_feed_token', prefixes: ['glft-'], body: GITLAB_BODY }),
  tokenRule({ kind: 'gitlab_agent_token', prefixes: ['glagent-'], body: '[A-Za-z0-9_\\-]{50,100}' }),
  tokenRule({ kind: 'gitlab_oauth_secret', prefixes: ['gloas-'], body: '[A-Za-z0-9_\\-]{64}' }),
  tokenRule({ kind: 'bitbucket_app_password', prefixes: ['ATBB'], body: '[A-Za-z0-9_=.\\-]{28,40}' }),
  tokenRule({ kind: 'atlassian_api_token', prefixes: ['ATATT3'], body: '[A-Za-z0-9_\\-=]{150,250}' }),
  tokenRule({ kind: 'npm_token', prefixes: ['npm_'], body: '[A-Za-z0-9]{36}' }),
  tokenRule({
    kind: 'pypi_token',
    prefixes: ['pypi-AgEIcHlwaS5vcmc', 'pypi-AgENdGVzdC5weXBpLm9yZw'],
    body: '[A-Za-z0-9_\\-]{50,1000}',
  }),
  tokenRule({ kind: 'dockerhub_pat', prefixes: ['dckr_pat_', 'dckr_oat_'], body: '[A-Za-z0-9_\\-]{27,64}' }),
];
