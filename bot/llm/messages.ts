/** What a person reads when the LLM cannot help: always a sentence and a way forward. */
import type { BudgetVerdict } from './budget.ts';
import type { Failure } from './retry.ts';

export const OFFLINE_COMMANDS = 'deploy <app> <tag> [to <env>] · restart <app> · scale <app> to <n> · rollback <app> · status [<app>] · logs <app> · help';

export function unreachableText(f: Failure): string {
  if (f.kind === 'rejected') {
    return f.status === 401 || f.status === 403
      ? `The language model did not accept this workspace's API key, so I could not read that; an admin can fix it (hoist tenant llm). These commands work without it: ${OFFLINE_COMMANDS}`
      : `The language model turned that request down (HTTP ${f.status}); these commands work without it: ${OFFLINE_COMMANDS}`;
  }
  return `I couldn't reach the language model; these commands work without it: ${OFFLINE_COMMANDS}`;
}

export function budgetText(v: Exclude<BudgetVerdict, { ok: true }>): string {
  const who = v.scope === 'user' ? 'You have' : 'This workspace has';
  const when = v.per === 'minute' ? 'for this minute — try again in a minute' : 'for today';
  return `${who} used up the language-model budget ${when}. The exact commands still work without it: ${OFFLINE_COMMANDS}`;
}
