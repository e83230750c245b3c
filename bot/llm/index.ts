/**
 * Builds the LLM intent parser from the bot's config and already-constructed infrastructure
 * (main.ts owns every `new` on a client). The parser is inert for a tenant without a key
 * (server ANTHROPIC_API_KEY or its own sealed BYO key) or with the LLM switched off.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../core/types.ts';
import { AnthropicIntentParser, type AnthropicParserDeps, type MessagesClient } from './anthropic-parser.ts';
import { createRedisLlmState } from './budget.ts';
import type { LlmStore, SecretOpener } from './ports.ts';
import { createPseudonym } from './pseudonymize.ts';

export const DEFAULT_MODEL = 'claude-haiku-4-5';
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What tests and benches may tune; everything else comes from config. */
export type LlmOverrides = Partial<Pick<AnthropicParserDeps, 'limits' | 'timeoutMs' | 'maxAttempts' | 'retryBaseMs' | 'now' | 'settingsTtlMs' | 'onCall'>>;

export function createLlmParser(o: {
  config: Pick<Config, 'ANTHROPIC_API_KEY' | 'HOIST_LLM_MODEL'>;
  client: (apiKey: string) => MessagesClient;
  store?: LlmStore;
  sealer?: SecretOpener;
  redis?: Redis;
  masterKey: Buffer;
  logger: Logger;
  prefix?: string;
  overrides?: LlmOverrides;
}): AnthropicIntentParser {
  return new AnthropicIntentParser({
    client: o.client,
    serverKey: o.config.ANTHROPIC_API_KEY,
    model: o.config.HOIST_LLM_MODEL ?? DEFAULT_MODEL,
    store: o.store,
    sealer: o.sealer,
    state: o.redis ? createRedisLlmState(o.redis, { prefix: o.prefix, now: o.overrides?.now }) : undefined,
    pseudonym: createPseudonym(o.masterKey),
    logger: o.logger,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    ...o.overrides,
  });
}

export { AnthropicIntentParser } from './anthropic-parser.ts';
