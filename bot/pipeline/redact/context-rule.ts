/**
 * Context rules: a keyword (the lead, e.g. `DD_API_KEY`, `mysql`, `curl`) makes a
 * generic-looking value nearby (32 hex chars, `-pS3cret`) a secret. Values are searched
 * in a bounded window after each lead. Overlapping windows are merged and each merged
 * region is searched once (on the next disjoint lead, or in `finish`), so a text
 * stuffed with leads still costs one pass per rule.
 */
import type { Detector, ScanContext } from './detector.ts';
import { secretGroupNames, secretSpan } from './detector.ts';
import { foldCase } from './fold-case.ts';

export interface ContextRuleSpec {
  id: string;
  kinds: readonly string[];
  triggers: readonly string[];
  caseSensitive?: boolean;
  /** Sticky at the trigger; values may start anywhere from its end to end + window. */
  lead: RegExp;
  window: number;
  /** Longest value the `value` regex can match; bounds the slice it runs on. */
  maxValue: number;
  /** Global; secret = group `s…` or the whole match. Lookbehinds may look back one char only. */
  value: RegExp;
  /** Stop each window at the first newline (default true). */
  sameLine?: boolean;
  priority: number;
  accept?: (value: string, m: RegExpExecArray) => boolean;
  kindOf?: (value: string, m: RegExpExecArray) => string | null;
}

interface Pending {
  start: number;
  end: number;
}

export function contextRule(spec: ContextRuleSpec): Detector {
  const lead = foldCase(spec.lead, 'y');
  const value = foldCase(spec.value, 'gd');
  const sameLine = spec.sameLine ?? true;
  const key = `context:${spec.id}`;
  let names: readonly string[] | undefined;

  function search(ctx: ScanContext, region: Pending): void {
    const text = ctx.text;
    const sliceStart = region.start > 0 ? region.start - 1 : 0;
    const chunk = text.slice(sliceStart, Math.min(region.end + spec.maxValue + 1, text.length));
    value.lastIndex = region.start - sliceStart;
    for (let m = value.exec(chunk); m !== null; m = value.exec(chunk)) {
      if (m.index + sliceStart >= region.end) break;
      if (m[0].length === 0) value.lastIndex++;
      names ??= secretGroupNames(m);
      const span = secretSpan(m, names);
      if (span === null || span[1] <= span[0]) continue;
      const v = chunk.slice(span[0], span[1]);
      if (spec.accept !== undefined && !spec.accept(v, m)) continue;
      const kind = spec.kindOf ? spec.kindOf(v, m) : (spec.kinds[0] as string);
      if (kind !== null) ctx.emit(span[0] + sliceStart, span[1] + sliceStart, kind, spec.priority);
    }
  }

  return {
    id: spec.id,
    kinds: spec.kinds,
    triggers: spec.triggers,
    caseSensitive: spec.caseSensitive ?? false,
    scan(ctx, at) {
      const text = ctx.text;
      lead.lastIndex = at;
      if (!lead.test(text)) return;
      const from = lead.lastIndex;
      let end = Math.min(from + spec.window, text.length);
      if (sameLine) {
        const nl = text.slice(from, end).indexOf('\n');
        if (nl !== -1) end = from + nl;
      }
      if (end <= from) return;
      const pending = ctx.memo.get(key) as Pending | undefined;
      if (pending !== undefined && from <= pending.end) {
        pending.end = Math.max(pending.end, end);
        return;
      }
      if (pending !== undefined) search(ctx, pending);
      ctx.memo.set(key, { start: from, end });
    },
    finish(ctx) {
      const pending = ctx.memo.get(key) as Pending | undefined;
      if (pending !== undefined) search(ctx, pending);
    },
  };
}
