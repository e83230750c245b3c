/**
 * Slack as the sender of requests: signs bodies exactly as Slack does (v0 HMAC-SHA256 over
 * `v0:<ts>:<raw body>`), posts them into the real Bolt receiver, and builds the payload
 * shapes Hoist handles (Events API callbacks, slash commands, block_actions,
 * view_submission). Events are JSON; commands and interactions are form-encoded.
 */
import { createHmac, randomBytes } from 'node:crypto';

export function signature(secret: string, ts: string | number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${rawBody}`).digest('hex')}`;
}

export interface Sent { status: number; body: string; ms: number }

export class SlackSender {
  private n = 0;
  constructor(readonly url: string, readonly secret: string, readonly team: string) {}

  async post(rawBody: string, contentType: string, opts: { headers?: Record<string, string>; ts?: number; secret?: string; unsigned?: boolean } = {}): Promise<Sent> {
    const ts = opts.ts ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': contentType, ...opts.headers };
    if (!opts.unsigned) {
      headers['x-slack-request-timestamp'] = String(ts);
      headers['x-slack-signature'] = signature(opts.secret ?? this.secret, ts, rawBody);
    }
    const t0 = Date.now();
    const res = await fetch(this.url, { method: 'POST', headers, body: rawBody });
    return { status: res.status, body: await res.text(), ms: Date.now() - t0 };
  }

  event(event: Record<string, unknown>, opts: { eventId?: string; retryNum?: number } = {}) {
    const body = {
      token: 'legacy', team_id: this.team, api_app_id: 'AHOIST', type: 'event_callback',
      event_id: opts.eventId ?? `Ev${randomBytes(6).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000),
      event: { event_ts: event.ts, ...event } as Record<string, unknown>,
      authorizations: [{ team_id: this.team, user_id: 'UHOIST', is_bot: true }],
    };
    const headers = opts.retryNum ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' } : undefined;
    return { body, send: () => this.post(JSON.stringify(body), 'application/json', { headers }) };
  }

  nextTs(): string {
    return `${1_800_000_000 + ++this.n}.${String(this.n).padStart(6, '0')}`;
  }

  mention(user: string, channel: string, text: string, extra: Record<string, unknown> = {}) {
    return this.event({ type: 'app_mention', user, channel, text, ts: this.nextTs(), ...extra });
  }

  command(user: string, channel: string, text: string, responseUrl: string) {
    const fields = {
      token: 'legacy', team_id: this.team, team_domain: 'test', channel_id: channel, channel_name: 'ops', user_id: user, user_name: user.toLowerCase(),
      command: '/hoist', text, api_app_id: 'AHOIST', response_url: responseUrl, trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    };
    return this.post(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
  }

  interaction(payload: Record<string, unknown>) {
    return this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  blockAction(user: string, o: { channel: string; messageTs: string; threadTs?: string; actionId: string; value: string; ephemeral?: boolean; responseUrl?: string }) {
    return this.interaction({
      type: 'block_actions', team: { id: this.team, domain: 'test' }, user: { id: user, team_id: this.team }, api_app_id: 'AHOIST',
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      container: { type: 'message', message_ts: o.messageTs, channel_id: o.channel, is_ephemeral: Boolean(o.ephemeral), ...(o.threadTs ? { thread_ts: o.threadTs } : {}) },
      channel: { id: o.channel, name: 'ops' },
      ...(o.ephemeral ? {} : { message: { type: 'message', ts: o.messageTs, ...(o.threadTs ? { thread_ts: o.threadTs } : {}) } }),
      ...(o.responseUrl ? { response_url: o.responseUrl } : {}),
      actions: [{ type: 'button', action_id: o.actionId, block_id: 'b', value: o.value, action_ts: `${Date.now() / 1000}` }],
    });
  }

  viewSubmission(user: string, view: { id: string; callback_id: string; private_metadata: string; value: string }) {
    return this.interaction({
      type: 'view_submission', team: { id: this.team, domain: 'test' }, user: { id: user, team_id: this.team }, api_app_id: 'AHOIST',
      trigger_id: `${Date.now()}.x`,
      view: {
        id: view.id, type: 'modal', callback_id: view.callback_id, private_metadata: view.private_metadata, team_id: this.team,
        state: { values: { value: { value: { type: 'plain_text_input', value: view.value } } } },
      },
    });
  }
}
