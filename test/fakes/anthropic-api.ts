/**
 * A fake Anthropic Messages API on 127.0.0.1:0, speaking the wire format: POST /v1/messages
 * with `x-api-key` or `Authorization: Bearer` (SDK 1.x sends the latter). Records every
 * request (headers and body, raw and parsed) and answers from a script, one step per
 * request, then from `fallback`: a tool_use with given input, malformed input, an unknown
 * tool, two tool calls, text only, an HTTP error (429/529 with retry-after-ms), or a hang.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Step =
  | { kind: 'tool'; input: unknown; name?: string; usage?: { input: number; output: number }; delayMs?: number }
  | { kind: 'two_tools'; inputs: [unknown, unknown] }
  | { kind: 'text'; text: string }
  | { kind: 'status'; status: number; retryAfterMs?: number; retryAfterS?: number; type?: string }
  | { kind: 'raw'; status: number; body: string }
  | { kind: 'hang' };

export interface Recorded {
  headers: IncomingMessage['headers'];
  raw: string;
  body: { model?: string; system?: unknown; tools?: unknown; tool_choice?: unknown; messages?: Array<{ role: string; content: unknown }> } & Record<string, unknown>;
  /** The API key the client presented, by either header. */
  key: string | undefined;
}

export interface FakeAnthropic {
  url: string;
  requests: Recorded[];
  script(...steps: Step[]): void;
  fallback: Step | ((r: Recorded) => Step);
  /** The JSON user turn of request i, parsed. */
  userTurn(i: number): { apps: unknown[]; environments: string[]; thread: Array<{ from: string; text: string }>; message: { from: string; text: string } };
  reset(): void;
  close(): Promise<void>;
}

let ids = 0;

function message(content: unknown[], usage = { input: 120, output: 30 }, stop = 'tool_use') {
  return {
    id: `msg_fake_${++ids}`, type: 'message', role: 'assistant', model: 'fake', content, stop_reason: stop, stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}
const toolUse = (name: string, input: unknown) => ({ type: 'tool_use', id: `toolu_${++ids}`, name, input });

export async function startFakeAnthropic(opts: { apiKey?: string } = {}): Promise<FakeAnthropic> {
  const queue: Step[] = [];
  const hanging = new Set<ServerResponse>();
  const fake: FakeAnthropic = {
    url: '',
    requests: [],
    script: (...steps) => { queue.push(...steps); },
    fallback: { kind: 'tool', input: { action: 'unknown', reason: 'What would you like me to do?' } },
    userTurn(i) {
      const content = fake.requests[i]?.body.messages?.[0]?.content;
      if (typeof content !== 'string') throw new Error(`request ${i} has no string user turn`);
      return JSON.parse(content) as ReturnType<FakeAnthropic['userTurn']>;
    },
    reset() { queue.length = 0; fake.requests.length = 0; },
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${++ids}`, ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) return send(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
      const raw = Buffer.concat(chunks).toString('utf8');
      const auth = req.headers.authorization;
      const key = (req.headers['x-api-key'] as string | undefined) ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
      let body: Recorded['body'];
      try { body = JSON.parse(raw) as Recorded['body']; } catch { return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'bad json' } }); }
      const rec: Recorded = { headers: req.headers, raw, body, key };
      fake.requests.push(rec);
      if (opts.apiKey && key !== opts.apiKey) return send(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      const step = queue.shift() ?? (typeof fake.fallback === 'function' ? fake.fallback(rec) : fake.fallback);
      switch (step.kind) {
        case 'tool': {
          const reply = () => send(res, 200, message([toolUse(step.name ?? 'propose_intent', step.input)], step.usage));
          return void (step.delayMs ? setTimeout(reply, step.delayMs) : reply());
        }
        case 'two_tools': return send(res, 200, message(step.inputs.map((i) => toolUse('propose_intent', i))));
        case 'text': return send(res, 200, message([{ type: 'text', text: step.text }], undefined, 'end_turn'));
        case 'status': {
          const h: Record<string, string> = {};
          if (step.retryAfterMs !== undefined) h['retry-after-ms'] = String(step.retryAfterMs);
          if (step.retryAfterS !== undefined) h['retry-after'] = String(step.retryAfterS);
          const type = step.type ?? (step.status === 429 ? 'rate_limit_error' : step.status === 529 ? 'overloaded_error' : 'api_error');
          return send(res, step.status, { type: 'error', error: { type, message: type } }, h);
        }
        case 'raw': return send(res, step.status, step.body);
        case 'hang':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
