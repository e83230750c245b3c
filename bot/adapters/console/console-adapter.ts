/**
 * The terminal adapter: each line is a chat message from the current user. Lines are
 * handled one at a time, in order, so piped stdin behaves like a conversation; at end of
 * input it waits until every approved action has reported before resolving.
 */
import { createInterface } from 'node:readline';
import type { ChatAdapter, ConversationRef, Decision, InboundMessage, MessageRef, Outbound } from '../../core/types.ts';
import { normalizeLine } from './console-normalize.ts';
import { render } from './console-render.ts';

export interface ConsoleHandlers {
  message(msg: InboundMessage): Promise<void>;
  decision(d: Decision): Promise<void>;
  /** Resolves when no enqueued action is still waiting for its result. */
  idle(): Promise<void>;
}

export class ConsoleAdapter implements ChatAdapter {
  readonly platform = 'console' as const;
  private seq = 0;
  private events = 0;

  constructor(private readonly out: NodeJS.WritableStream, private user: string) {}

  private write(text: string) {
    this.out.write(`${text}\n`);
  }

  async post(_conv: ConversationRef, msg: Outbound): Promise<MessageRef> {
    this.write(render(msg));
    return { id: String(++this.seq) };
  }

  async update(_conv: ConversationRef, _ref: MessageRef, msg: Outbound): Promise<void> {
    // A terminal cannot edit what it printed: show only what is new (the last line).
    const text = render(msg);
    this.write(msg.kind === 'text' ? text.split('\n').pop()! : text);
  }

  async notify(_conv: ConversationRef, userId: string, text: string): Promise<void> {
    this.write(`(only ${userId} sees this) ${text}`);
  }

  async run(input: NodeJS.ReadableStream, h: ConsoleHandlers, interactive: boolean): Promise<void> {
    const rl = createInterface({ input, terminal: false });
    const prompt = () => { if (interactive) this.out.write(`${this.user}> `); };
    this.write(`Hoist console — you are ${this.user} (admin). Type "help"; ":user <name>" switches user; ":quit" leaves.`);
    prompt();
    for await (const line of rl) {
      const input = normalizeLine(line, this.user, `console-${process.pid}-${++this.events}`);
      switch (input.kind) {
        case 'quit': rl.close(); break;
        case 'empty': break;
        case 'invalid': this.write(input.text); break;
        case 'switch-user': this.user = input.user; this.write(`You are now ${input.user}.`); break;
        case 'decision': await h.decision(input.decision); break;
        case 'message': await h.message(input.msg); break;
      }
      if (input.kind === 'quit') break;
      prompt();
    }
    await h.idle();
  }
}
