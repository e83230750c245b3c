/**
 * Stage 7: report. Consumes worker result events and answers in the action's thread:
 * progress lines edit one progress message (posted on the first line), the result is
 * posted once. Result job ids are `<action>.result`, so a replay cannot post twice;
 * the `action.reported` audit event is written once per action.
 */
import { ResultEventSchema, type ResultEvent } from '../../workers/contract/index.ts';
import type { Store } from '../../db/repo.ts';
import type { AuditLog } from '../core/ports.ts';
import type { ChatAdapter, ConversationRef, Logger, MessageRef, Platform } from '../core/types.ts';

export interface ReportDeps {
  store: Store;
  audit: AuditLog;
  adapters: Partial<Record<Platform, ChatAdapter>>;
  logger: Logger;
  /** Called after each final result is posted (console uses it to know when it is idle). */
  onResult?: (e: ResultEvent) => void;
}

export function createReporter(d: ReportDeps) {
  const progressMsgs = new Map<string, { ref: MessageRef; lines: string[] }>();
  return async function report(raw: unknown): Promise<void> {
    const e = ResultEventSchema.parse(raw);
    const action = await d.store.getAction(e.actionId);
    if (!action || action.tenantId !== e.tenantId) {
      d.logger.warn({ action: e.actionId }, 'report.unknown_action');
      return;
    }
    const conv = action.conversation as ConversationRef;
    const adapter = d.adapters[conv.platform];
    if (!adapter) {
      d.logger.warn({ action: e.actionId, platform: conv.platform }, 'report.no_adapter');
      return;
    }
    if (e.kind === 'progress') {
      const cur = progressMsgs.get(e.actionId);
      if (cur) {
        cur.lines.push(e.text);
        await adapter.update(conv, cur.ref, { kind: 'text', text: cur.lines.slice(-15).join('\n') });
      } else {
        const ref = await adapter.post(conv, { kind: 'text', text: e.text });
        progressMsgs.set(e.actionId, { ref, lines: [e.text] });
      }
      return;
    }
    progressMsgs.delete(e.actionId);
    // Result job ids dedupe only while Redis remembers them (a flush, a re-published action):
    // the row's reported_at is the lasting guard. Released again when the post fails, so a retry posts it.
    if (!(await d.store.claimReport(e.actionId, new Date()))) {
      d.logger.info({ action: e.actionId }, 'report.duplicate');
      return;
    }
    const icon = e.status === 'succeeded' ? '✅' : '❌';
    try {
      await adapter.post(conv, { kind: 'text', text: `${icon} ${e.text}` });
    } catch (err) {
      await d.store.releaseReport(e.actionId);
      throw err;
    }
    await d.audit.append({ tenantId: e.tenantId, type: 'action.reported', actionId: e.actionId, data: { status: e.status } });
    d.onResult?.(e);
  };
}
