/** AI providers: Anthropic, OpenAI, Hugging Face, Replicate, Groq. */
import { tokenRule, type Detector } from '../detector.ts';
import { charClasses } from '../values.ts';

export const aiDetectors: readonly Detector[] = [
  tokenRule({ kind: 'anthropic_api_key', prefixes: ['sk-ant-api03-'], body: '[A-Za-z0-9_\\-]{80,120}' }),
  tokenRule({ kind: 'anthropic_admin_key', prefixes: ['sk-ant-admin01-'], body: '[A-Za-z0-9_\\-]{80,120}' }),
  tokenRule({ kind: 'openai_project_key', prefixes: ['sk-proj-'], body: '[A-Za-z0-9_\\-]{40,250}' }),
  tokenRule({ kind: 'openai_service_account_key', prefixes: ['sk-svcacct-'], body: '[A-Za-z0-9_\\-]{40,250}' }),
  tokenRule({ kind: 'openai_admin_key', prefixes: ['sk-admin-'], body: '[A-Za-z0-9_\\-]{40,250}' }),
  // Legacy keys embed base64("openai") as T3BlbkFJ at a fixed position.
  tokenRule({ kind: 'openai_api_key', prefixes: ['sk-'], body: '[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}' }),
  tokenRule({
    kind: 'huggingface_token',
    prefixes: ['hf_'],
    body: '[A-Za-z0-9]{34}',
    check: (b) => {
      const c = charClasses(b);
      return c.upper && c.lower;
    },
  }),
  tokenRule({ kind: 'replicate_api_token', prefixes: ['r8_'], body: '[A-Za-z0-9]{37}' }),
  tokenRule({ kind: 'groq_api_key', prefixes: ['gsk_'], body: '[A-Za-z0-9]{52}' }),
];
