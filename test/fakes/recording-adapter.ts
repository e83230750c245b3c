/** A ChatAdapter that records what Hoist said, for pipeline-level integration tests. */
import type { ChatAdapter, ConversationRef, MessageRef, Outbound, Platform } from '../../bot/core/types.ts';

export interface Said { op: 'post' | 'update' | 'notify'; conv: ConversationRef; msg?: Outbound; text: string; userId?: string }

export class RecordingAdapter implements ChatAdapter {
  readonly said: Said[] = [];
  private n = 0;
  private waiters: Array<() => void> = [];
  constructor(readonly platform: Platform = 'console') {}

  private push(s: Said) {
    this.said.push(s);
    for (const w of this.waiters.splice(0)) w();
  }

  static text(msg: Outbound): string {
    if (msg.kind === 'text') return msg.text;
    if (msg.kind === 'card') return `CARD ${msg.card.title} ${msg.card.actionId} ${msg.card.details.join(' | ')}`;
    return `OUTCOME ${msg.card.actionId} ${msg.outcome}`;
  }

  async post(conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    this.push({ op: 'post', conv, msg, text: RecordingAdapter.text(msg) });
    return { id: String(++this.n) };
  }
  async update(conv: ConversationRef, _ref: MessageRef, msg: Outbound): Promise<void> {
    this.push({ op: 'update', conv, msg, text: RecordingAdapter.text(msg) });
  }
  async notify(conv: ConversationRef, userId: string, text: string): Promise<void> {
    this.push({ op: 'notify', conv, text, userId });
  }

  all(): string {
    return this.said.map((s) => s.text).join('\n');
  }

  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const s of this.said) {
        const m = s.text.match(re);
        if (m) return m;
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}; said:\n${this.all()}`);
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 200);
      });
    }
  }
}
