/** Drives `hoist console` as a child process: write lines, wait for output. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class ConsoleSession {
  readonly proc: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  private cursor = 0;

  constructor(args: string[], env: Record<string, string | undefined>) {
    const merged = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
    this.proc = spawn('node', ['bin/hoist.mjs', ...args], { env: merged });
    this.proc.stdout.setEncoding('utf8').on('data', (d: string) => { this.out += d; });
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => { this.err += d; });
  }

  send(line: string) {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Waits for `re` in output printed after the previous match. */
  async waitFor(re: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.slice(this.cursor).match(re);
      if (m) {
        this.cursor += (m.index ?? 0) + m[0].length;
        return m;
      }
      if (this.proc.exitCode !== null || Date.now() > until) {
        throw new Error(`waiting for ${re} (exit ${this.proc.exitCode});\n--- stdout after cursor:\n${this.out.slice(this.cursor)}\n--- stderr:\n${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends a change, reads the action id off its card, approves it. */
  async proposeAndApprove(line: string): Promise<string> {
    this.send(line);
    const id = (await this.waitFor(/^(act-[a-z0-9]+)$/m))[1]!;
    this.send(`approve ${id}`);
    return id;
  }

  async close(): Promise<number> {
    this.proc.stdin.end();
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    return new Promise((res) => this.proc.once('exit', (c) => res(c ?? -1)));
  }
}
