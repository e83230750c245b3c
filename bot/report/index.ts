/**
 * Stage 7: report. Consumes worker result events and answers in the action's thread:
 * progress lines edit one progress message (posted on the first line), the result is
 * posted once. Result job ids are `<action>.result`, so a replay cannot post twice;
 * the `action.reported` audit event is written once per action. The results worker may run
 * several events at once: events of one action are still handled one at a time, in order.
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
  const tails = new Map<string, Promise<void>>();
  /** Per action, in arrival order (progress lines edit one message; the result comes last). */
  return function report(raw: unknown): Promise<void> {
    const e = ResultEventSchema.parse(raw);
    const prev = tails.get(e.actionId);
    const run = prev ? prev.catch(() => undefined).then(() => reportOne(e)) : reportOne(e);
    tails.set(e.actionId, run);
    const clear = () => { if (tails.get(e.actionId) === run) tails.delete(e.actionId); };
    run.then(clear, clear);
    return run;
  };

  async function reportOne(e: ResultEvent): Promise<void> {
    if (e.kind === 'result') return reportResult(e);
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
    const cur = progressMsgs.get(e.actionId);
    if (cur) {
      cur.lines.push(e.text);
      await adapter.update(conv, cur.ref, { kind: 'text', text: cur.lines.slice(-15).join('\n') });
    } else {
      const ref = await adapter.post(conv, { kind: 'text', text: e.text });
      progressMsgs.set(e.actionId, { ref, lines: [e.text] });
    }
  }

  async function reportResult(e: ResultEvent): Promise<void> {
    progressMsgs.delete(e.actionId);
    // Result job ids dedupe only while Redis remembers them (a flush, a re-published action):
    // the row's reported_at is the lasting guard, claimed here in the same query that reads the
    // action. Released again when the post fails (or there is no adapter), so a retry posts it.
    const action = await d.store.claimReportRow(e.actionId, e.tenantId, new Date());
    if (!action) {
      const known = await d.store.getAction(e.actionId);
      if (!known || known.tenantId !== e.tenantId) d.logger.warn({ action: e.actionId }, 'report.unknown_action');
      else d.logger.info({ action: e.actionId }, 'report.duplicate');
      return;
    }
    const conv = action.conversation as ConversationRef;
    const adapter = d.adapters[conv.platform];
    if (!adapter) {
      await d.store.releaseReport(e.actionId);
      d.logger.warn({ action: e.actionId, platform: conv.platform }, 'report.no_adapter');
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
  }
}
