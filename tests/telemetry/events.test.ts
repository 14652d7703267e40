/**
 * Shopper events: a session per face in front of the mirror, ended by the idle timeout, products
 * tried once per session, looks saved; only counts, ids and timings ever leave the device.
 */
import { describe, expect, it } from 'vitest';
import { EventMessageSchema } from '../../fleet/protocol/schemas.ts';
import { createEventPublisher, SessionTracker, type EventData } from '../../device/telemetry/events.ts';
import { recordingLogger } from './support.ts';

const ALLOWED_KEYS = new Set(['sessionId', 'dwellMs', 'productsTried', 'looksSaved', 'reason', 'productId', 'lookId', 'products', 'productIds']);

function rig(idleTimeoutMs = 10_000) {
  const sent: Array<{ type: string; data?: EventData }> = [];
  const payloads: Buffer[] = [];
  const sink = createEventPublisher({
    deviceId: 'mirror-1',
    logger: recordingLogger(),
    send: (payload, msg) => {
      payloads.push(payload);
      sent.push({ type: msg.type, data: msg.data });
    },
  });
  return { sent, payloads, tracker: new SessionTracker({ idleTimeoutMs, sink }) };
}

describe('shopper session events', () => {
  it('a shopper who looks away briefly is one session; absent for the idle timeout ends it with the dwell time to the last face seen', () => {
    const { sent, tracker } = rig(10_000);
    tracker.observe(0, [], 0);
    tracker.observe(1, ['ruby'], 1_000);
    tracker.observe(1, ['ruby'], 2_000);
    tracker.observe(0, [], 5_000); // looked away
    tracker.observe(1, ['ruby', 'nude'], 8_000);
    tracker.observe(0, [], 17_999);
    expect(sent.map((e) => e.type)).toEqual(['session.start', 'product.tried', 'product.tried']);
    tracker.observe(0, [], 18_000);
    const end = sent.at(-1)!;
    expect(end.type).toBe('session.end');
    expect(end.data).toMatchObject({ dwellMs: 7_000, productsTried: 2, looksSaved: 0, reason: 'idle' });
    const ids = new Set(sent.map((e) => e.data?.sessionId));
    expect(ids.size).toBe(1);
    // A new face afterwards is a new session with a new random id.
    tracker.observe(1, [], 30_000);
    expect(sent.at(-1)!.type).toBe('session.start');
    expect(sent.at(-1)!.data!.sessionId).not.toBe(end.data!.sessionId);
    expect(tracker.snapshot()).toMatchObject({ active: true, sessions: 2, productsTried: 2 });
  });

  it('the idle timer ends a session even when no frames arrive (camera stalled), and shutdown ends an open one', () => {
    const { sent, tracker } = rig(5_000);
    tracker.observe(1, [], 0);
    tracker.tick(4_999);
    expect(sent.map((e) => e.type)).toEqual(['session.start']);
    tracker.tick(5_000);
    expect(sent.at(-1)!.type).toBe('session.end');
    tracker.observe(1, [], 6_000);
    tracker.stop();
    expect(sent.at(-1)!.data).toMatchObject({ reason: 'shutdown' });
  });

  it('a saved look is reported with its product ids; no event carries anything but counts, ids and timings', () => {
    const { sent, payloads, tracker } = rig();
    expect(tracker.saveLook(['ruby'])).toBeNull(); // no shopper, no look
    tracker.observe(1, ['ruby'], 0);
    const lookId = tracker.saveLook(['ruby', 'gloss-clear']);
    expect(lookId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.at(-1)).toMatchObject({ type: 'look.saved', data: { lookId, products: 2, productIds: 'ruby,gloss-clear' } });
    tracker.stop();
    for (const p of payloads) {
      const msg = EventMessageSchema.parse(JSON.parse(p.toString()));
      for (const k of Object.keys(msg.data ?? {})) expect(ALLOWED_KEYS.has(k), `unexpected event field ${k}`).toBe(true);
      expect(p.byteLength).toBeLessThan(1024);
    }
  });
});
