/**
 * The bench's stand-ins for Slack's Web API and Anthropic's Messages API, in a process of
 * their own: in production those services are remote, so their work must not share Hoist's
 * event loop (in-process fakes answering 100 requests/s made every Hoist ack wait behind
 * them). Started by bench/hoist.ts with `fork`; answers with its URLs, then takes
 * `{ delayMs }` messages that set the model's answer delay.
 */
import { startFakeAnthropic } from '../test/fakes/anthropic-api.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';

const [team = 'TBENCH', apiKey = 'sk-bench'] = process.argv.slice(2);
const anthropic = await startFakeAnthropic({ apiKey });
const api = await new FakeSlackApi({ botUserId: 'UHOIST', botId: 'BHOIST', teamId: team }).start();
const setDelay = (delayMs: number) => {
  anthropic.fallback = { kind: 'tool', input: { action: 'unknown', reason: 'bench' }, ...(delayMs ? { delayMs } : {}) };
  // Nothing reads the recordings here: keep memory flat over a long run.
  anthropic.requests.length = 0;
  api.calls.length = 0;
};
setDelay(0);
process.on('message', (m: { delayMs?: number; close?: boolean }) => {
  if (m.close) void Promise.all([anthropic.close(), api.close()]).then(() => process.exit(0));
  else { setDelay(m.delayMs ?? 0); process.send?.({ ok: true }); }
});
setInterval(() => { anthropic.requests.length = 0; api.calls.length = 0; }, 1000).unref();
process.send?.({ anthropicUrl: anthropic.url, slackApiUrl: api.apiUrl });
