/** Payments and SaaS: Stripe, Square, Shopify, Linear, Mapbox, Datadog, New Relic, Grafana, Sentry, Postman. */
import { PRIORITY, tokenRule, type Detector } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { looksFakeToken } from '../values.ts';

const shopify = (kind: string, prefix: string): Detector =>
  tokenRule({ kind, prefixes: [prefix], body: '[a-fA-F0-9]{32}' });

export const saasDetectors: readonly Detector[] = [
  tokenRule({ kind: 'stripe_secret_key', prefixes: ['sk_live_', 'sk_test_'], body: '[0-9A-Za-z]{24,99}' }),
  tokenRule({ kind: 'stripe_restricted_key', prefixes: ['rk_live_', 'rk_test_'], body: '[0-9A-Za-z]{24,99}' }),
  tokenRule({ kind: 'stripe_webhook_secret', prefixes: ['whsec_'], body: '[A-Za-z0-9+/=]{32,64}' }),
  tokenRule({ kind: 'square_access_token', prefixes: ['sq0atp-'], body: '[0-9A-Za-z_\\-]{22}' }),
  tokenRule({ kind: 'square_access_token', prefixes: ['EAAA'], body: '[A-Za-z0-9_\\-+=]{60}' }),
  tokenRule({ kind: 'square_oauth_secret', prefixes: ['sq0csp-'], body: '[0-9A-Za-z_\\-]{43}' }),
  shopify('shopify_access_token', 'shpat_'),
  shopify('shopify_shared_secret', 'shpss_'),
  shopify('shopify_custom_app_token', 'shpca_'),
  shopify('shopify_private_app_token', 'shppa_'),
  tokenRule({ kind: 'linear_api_key', prefixes: ['lin_api_'], body: '[A-Za-z0-9]{40}' }),
  // `pk.eyJ…` Mapbox tokens are public by design; only the secret `sk.` scope is redacted.
  tokenRule({ kind: 'mapbox_secret_token', prefixes: ['sk.eyJ'], body: '[A-Za-z0-9_\\-]{20,300}\\.[A-Za-z0-9_\\-]{20,40}', edge: 'A-Za-z0-9_\\-.' }),
  contextRule({
    id: 'datadog',
    kinds: ['datadog_api_key', 'datadog_app_key'],
    triggers: ['datadog', 'dd_api', 'dd-api', 'dd_app', 'dd-app', 'dd_application', 'dd-application'],
    lead: /(?:datadog[\w\- ]{0,30}?(?:api|app|application)[_\- ]?key|dd[_-](?:api|app|application)[_-]?key)/i,
    window: 40,
    maxValue: 41,
    value: /(?<![A-Za-z0-9])(?<s>[a-f0-9]{40}|[a-f0-9]{32})(?![A-Za-z0-9])/,
    priority: PRIORITY.context,
    accept: (v) => !looksFakeToken(v),
    kindOf: (v) => (v.length === 40 ? 'datadog_app_key' : 'datadog_api_key'),
  }),
  tokenRule({ kind: 'new_relic_user_api_key', prefixes: ['NRAK-'], body: '[A-Z0-9]{27}' }),
  tokenRule({ kind: 'new_relic_browser_key', prefixes: ['NRJS-'], body: '[a-f0-9]{19}' }),
  tokenRule({ kind: 'new_relic_insights_key', prefixes: ['NRII-', 'NRIQ-'], body: '[A-Za-z0-9_\\-]{32}' }),
  tokenRule({ kind: 'grafana_cloud_token', prefixes: ['glc_'], body: '[A-Za-z0-9+/]{32,400}={0,2}', edge: 'A-Za-z0-9_+/=\\-' }),
  tokenRule({ kind: 'grafana_service_account_token', prefixes: ['glsa_'], body: '[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}' }),
  tokenRule({ kind: 'sentry_auth_token', prefixes: ['sntrys_'], body: '[A-Za-z0-9+/=_]{60,300}', edge: 'A-Za-z0-9_+/=\\-' }),
  tokenRule({ kind: 'sentry_auth_token', prefixes: ['sntryu_'], body: '[a-f0-9]{64}' }),
  tokenRule({ kind: 'postman_api_key', prefixes: ['PMAK-'], body: '[a-f0-9]{24}-[a-f0-9]{34}' }),
];
