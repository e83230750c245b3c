/**
 * Context rules: a keyword (the lead, e.g. `DD_API_KEY`, `mysql`, `curl`) makes a
 * generic-looking value nearby (32 hex chars, `-pS3cret`) a secret. Values are searched
 * in a bounded window after each lead. Overlapping windows are merged and each merged
 * region is searched once (on the next disjoint lead, or in `finish`), so a text
 * stuffed with leads still costs one pass per rule.
 */
import type { Detector, ScanContext } from './detector.ts';
import { allocSlot, secretGroupNames, secretSpan } from './detector.ts';
import { foldCase } from './fold-case.ts';

export interface ContextRuleSpec {
  id: string;
  kinds: readonly string[];
  triggers: readonly string[];
  caseSensitive?: boolean;
  /** Sticky at the trigger; values may start anywhere from its end to end + window. */
  lead: RegExp;
  /** Optional hand-written equivalent of `lead` (its reference): where the lead ends, or -1. */
  leadEnd?: (text: string, at: number) => number;
  window: number;
  /** Longest value the `value` regex can match; bounds the slice it runs on. */
  maxValue: number;
  /** Global; secret = group `s…` or the whole match. Lookbehinds may look back one char only. */
  value: RegExp;
  /**
   * Optional hand-written equivalent of `value` (which then serves as its reference):
   * pushes [start, end) of each secret whose match starts in [from, to) of `text`, in
   * order. `accept` and `kindOf` then see a match object without groups.
   */
  find?: (text: string, from: number, to: number, out: number[]) => void;
  /** Stop each window at the first newline (default true). */
  sameLine?: boolean;
  priority: number;
  accept?: (value: string, m: RegExpExecArray) => boolean;
  kindOf?: (value: string, m: RegExpExecArray) => string | null;
}

const NO_GROUPS = /(?:)/.exec('') as RegExpExecArray;

export function contextRule(spec: ContextRuleSpec): Detector {
  const lead = foldCase(spec.lead, 'y');
  const value = foldCase(spec.value, 'gd');
  const sameLine = spec.sameLine ?? true;
  // The pending (merged, not yet searched) region: [start, end), start -1 when none.
  const pendingStart = allocSlot(-1);
  const pendingEnd = allocSlot(-1);
  // For `sameLine`: the first newline (or the text's end) at or after position nlFrom.
  const nlFrom = allocSlot(-1);
  const nlAt = allocSlot(-1);
  let names: readonly string[] | undefined;

  const found: number[] = [];

  function search(ctx: ScanContext, regionStart: number, regionEnd: number): void {
    const text = ctx.text;
    if (spec.find !== undefined) {
      found.length = 0;
      spec.find(text, regionStart, regionEnd, found);
      for (let k = 0; k < found.length; k += 2) {
        const start = found[k] as number;
        const end = found[k + 1] as number;
        const v = text.slice(start, end);
        if (spec.accept !== undefined && !spec.accept(v, NO_GROUPS)) continue;
        const kind = spec.kindOf ? spec.kindOf(v, NO_GROUPS) : (spec.kinds[0] as string);
        if (kind !== null) ctx.emit(start, end, kind, spec.priority);
      }
      return;
    }
    const sliceStart = regionStart > 0 ? regionStart - 1 : 0;
    const chunk = text.slice(sliceStart, Math.min(regionEnd + spec.maxValue + 1, text.length));
    value.lastIndex = regionStart - sliceStart;
    for (let m = value.exec(chunk); m !== null; m = value.exec(chunk)) {
      if (m.index + sliceStart >= regionEnd) break;
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
      let from: number;
      if (spec.leadEnd !== undefined) {
        from = spec.leadEnd(text, at);
        if (from === -1) return;
      } else {
        lead.lastIndex = at;
        if (!lead.test(text)) return;
        from = lead.lastIndex;
      }
      let end = Math.min(from + spec.window, text.length);
      if (sameLine) {
        // The first newline at or after `from`, remembered: leads come in text order, so
        // each stretch of text is searched once however many leads it holds.
        const slots = ctx.slots;
        let nl = slots[nlAt] as number;
        if ((slots[nlFrom] as number) === -1 || from < (slots[nlFrom] as number) || from > nl) {
          nl = text.indexOf('\n', from);
          if (nl === -1) nl = text.length;
          slots[nlFrom] = from;
          slots[nlAt] = nl;
        }
        if (nl < end) end = nl;
      }
      if (end <= from) return;
      const slots = ctx.slots;
      const start = slots[pendingStart] as number;
      if (start !== -1 && from <= (slots[pendingEnd] as number)) {
        if (end > (slots[pendingEnd] as number)) slots[pendingEnd] = end;
        return;
      }
      if (start !== -1) search(ctx, start, slots[pendingEnd] as number);
      slots[pendingStart] = from;
      slots[pendingEnd] = end;
    },
    finish(ctx) {
      const start = ctx.slots[pendingStart] as number;
      if (start !== -1) search(ctx, start, ctx.slots[pendingEnd] as number);
    },
  };
}
