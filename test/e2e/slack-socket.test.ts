/**
 * Slack over Socket Mode, at the wire: the real Bolt SocketModeReceiver connects through a
 * fake `apps.connections.open` to a local WebSocket server, which pushes envelopes and
 * reads the acks. Real PostgreSQL and Redis behind the pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonsOf, textOf } from '../fakes/slack-api.ts';
import { BOT_USER, CHANNEL, startSlackHarness, type SlackHarness } from '../fakes/slack-harness.ts';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({ socket: true, workers: false });
  await h.store.ensureTenant(h.tenantId, 'slack');
  await h.store.setRole(h.tenantId, 'slack:UDEV', 'deployer', 'test');
});

afterAll(async () => {
  await h?.stop();
});

describe('Slack over Socket Mode', () => {
  it('connects with the app token, acks a mention envelope and posts the card; a Cancel click over the socket updates it', async () => {
    const open = h.api.of('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.auth).toBe('Bearer xapp-test-token');
    await h.socket!.waitConnected();

    const ev = h.sender.mention('UDEV', CHANNEL, `<@${BOT_USER}> deploy web image hoist-demo/httpd:1 port 8080`);
    const t0 = Date.now();
    const ack = await h.socket!.push('events_api', ev.body);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(ack.envelope_id).toBeDefined();
    const card = await h.card();
    expect(buttonsOf(card.call).map((b) => b.action_id)).toEqual(['hoist.approve', 'hoist.cancel']);
    expect(card.thread).toBe(ev.body.event.ts);

    // The same envelope redelivered (retry_attempt 1) is acked but makes no second card.
    await h.socket!.push('events_api', ev.body, 1);
    await new Promise((r) => setTimeout(r, 800));
    expect(h.api.of('chat.postMessage').filter((c) => buttonsOf(c).length > 0)).toHaveLength(1);

    const click = {
      type: 'block_actions', team: { id: h.team }, user: { id: 'UDEV', team_id: h.team }, trigger_id: '1.2',
      container: { type: 'message', message_ts: card.ts, channel_id: CHANNEL, thread_ts: card.thread },
      channel: { id: CHANNEL }, message: { ts: card.ts, thread_ts: card.thread },
      actions: [{ type: 'button', action_id: 'hoist.cancel', value: card.actionId, action_ts: '1' }],
    };
    await h.socket!.push('interactive', click);
    const outcome = await h.api.waitFor(() => h.api.of('chat.update').find((c) => c.body.ts === card.ts), 'the cancel outcome');
    expect(textOf(outcome)).toMatch(/Cancelled by <@UDEV>/);
    expect((await h.store.getAction(card.actionId))?.status).toBe('cancelled');
  });

  it('still serves health on the HTTP server, without a /slack/events route', async () => {
    expect((await fetch(`${h.bot.http!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.bot.http!.url}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
