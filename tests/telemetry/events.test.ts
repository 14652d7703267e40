/**
 * Shopper events: a session per shopper at the mirror (a face, or a touch on the kiosk), ended by
 * the idle timeout, each product and shade the shopper chose tried once per session, looks saved;
 * only counts, ids and timings ever leave the device.
 */
import { describe, expect, it } from 'vitest';
import { EventMessageSchema } from '../../fleet/protocol/schemas.ts';
import { createEventPublisher, SessionTracker, type EventData } from '../../device/telemetry/events.ts';
import { encodeSavedLook } from '../../device/tryon/saved-look.ts';
import { recordingLogger } from './support.ts';

const ALLOWED_KEYS = new Set(['sessionId', 'dwellMs', 'productsTried', 'looksSaved', 'reason', 'productId', 'shadeId', 'lookId', 'products', 'productIds']);

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
    const ends: string[] = [];
    tracker.onEnd((reason) => ends.push(reason));
    tracker.observe(0, 0);
    tracker.observe(1, 1_000);
    tracker.tried('ruby', 'ruby-01', 1_500);
    tracker.observe(1, 2_000);
    tracker.observe(0, 5_000); // looked away
    tracker.observe(1, 8_000);
    tracker.tried('nude', 'nude-02', 8_000);
    tracker.observe(0, 17_999);
    expect(sent.map((e) => e.type)).toEqual(['session.start', 'product.tried', 'product.tried']);
    expect(ends).toEqual([]);
    tracker.observe(0, 18_000);
    expect(ends).toEqual(['idle']);
    const end = sent.at(-1)!;
    expect(end.type).toBe('session.end');
    expect(end.data).toMatchObject({ dwellMs: 7_000, productsTried: 2, looksSaved: 0, reason: 'idle' });
    const ids = new Set(sent.map((e) => e.data?.sessionId));
    expect(ids.size).toBe(1);
    // A new face afterwards is a new session with a new random id.
    tracker.observe(1, 30_000);
    expect(sent.at(-1)!.type).toBe('session.start');
    expect(sent.at(-1)!.data!.sessionId).not.toBe(end.data!.sessionId);
    expect(tracker.snapshot()).toMatchObject({ active: true, sessions: 2, productsTried: 2 });
  });

  it('product.tried once per product and shade the shopper chose in a session; a touch without a face starts a session and keeps it going', () => {
    const { sent, tracker } = rig(5_000);
    tracker.tried('ruby', 'ruby-01', 0); // the kiosk was touched before the camera saw a face
    tracker.tried('ruby', 'ruby-01', 1_000); // re-selected (another intensity): not again
    tracker.tried('ruby', 'ruby-02', 2_000); // another shade of it: a new try
    tracker.present(6_000); // a tap keeps the session: 5 s after the last sign is not yet idle
    tracker.tick(10_999);
    expect(sent.map((e) => [e.type, e.data?.productId, e.data?.shadeId])).toEqual([
      ['session.start', undefined, undefined],
      ['product.tried', 'ruby', 'ruby-01'],
      ['product.tried', 'ruby', 'ruby-02'],
    ]);
    tracker.tick(11_000);
    expect(sent.at(-1)).toMatchObject({ type: 'session.end', data: { productsTried: 2, dwellMs: 6_000, reason: 'idle' } });
    // The next shopper tries the same shade: counted again, in their own session.
    tracker.tried('ruby', 'ruby-01', 20_000);
    expect(sent.slice(-2).map((e) => e.type)).toEqual(['session.start', 'product.tried']);
  });

  it('the idle timer ends a session even when no frames arrive (camera stalled), and shutdown ends an open one', () => {
    const { sent, tracker } = rig(5_000);
    tracker.observe(1, 0);
    tracker.tick(4_999);
    expect(sent.map((e) => e.type)).toEqual(['session.start']);
    tracker.tick(5_000);
    expect(sent.at(-1)!.type).toBe('session.end');
    tracker.observe(1, 6_000);
    tracker.stop();
    expect(sent.at(-1)!.data).toMatchObject({ reason: 'shutdown' });
  });

  it('a saved look is reported with its id and product ids; no event carries anything but counts, ids and timings', () => {
    const { sent, payloads, tracker } = rig();
    tracker.observe(1, 0);
    const lookId = encodeSavedLook([
      { productId: 'ruby', shadeId: 'ruby-01', intensity: 0.8 },
      { productId: 'gloss-clear', shadeId: 'clear', intensity: 1 },
    ]);
    tracker.lookSaved(lookId, ['ruby', 'gloss-clear'], 10);
    expect(sent.at(-1)).toMatchObject({ type: 'look.saved', data: { lookId, products: 2, productIds: 'ruby,gloss-clear' } });
    expect(tracker.snapshot()).toMatchObject({ looksSaved: 1 });
    tracker.stop();
    expect(sent.at(-1)).toMatchObject({ type: 'session.end', data: { looksSaved: 1 } });
    for (const p of payloads) {
      const msg = EventMessageSchema.parse(JSON.parse(p.toString()));
      for (const k of Object.keys(msg.data ?? {})) expect(ALLOWED_KEYS.has(k), `unexpected event field ${k}`).toBe(true);
      expect(p.byteLength).toBeLessThan(1024);
    }
  });
});
