/**
 * Event types are declared once, in the protocol (a typed union with a data schema per type),
 * and both ends hold to it: the daemon's own session tracker produces events the fleet stores
 * and counts; an event missing its type's keys is refused naming the field; the fleet reads only
 * the declared keys (no guessed aliases); an unknown type is kept and counts for nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventPublisher, SessionTracker } from '../../device/telemetry/events.ts';
import { eventsTopic } from '../../fleet/protocol/topics.ts';
import { encodeSavedLook } from '../../device/tryon/saved-look.ts';
import { startFleet, type TestService } from './support.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet } as never;

describe('shopper event types, device to fleet', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startFleet('sqlite', {}, { mqtt: false });
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const stats = async (storeId: string) => (await svc.api('GET', `/api/stores/${storeId}/stats?from=0`)).body;

  it("the daemon's session tracker emits events the fleet stores and counts (sessions, dwell, tried, saved)", async () => {
    const addr = { storeId: 'ev-store', deviceId: 'ev-mirror' };
    const payloads: Buffer[] = [];
    let clock = Date.now() - 60_000; // the session lies in the past of the default stats window
    const sink = createEventPublisher({ deviceId: addr.deviceId, logger: quiet, now: () => clock, send: (p) => payloads.push(p) });
    const tracker = new SessionTracker({ idleTimeoutMs: 1000, sink });
    tracker.observe(1, clock);
    tracker.tried('ruby', 'ruby-01', clock);
    tracker.observe(1, (clock += 500));
    tracker.tried('gloss', 'clear', clock);
    const lookId = encodeSavedLook([
      { productId: 'ruby', shadeId: 'ruby-01', intensity: 1 },
      { productId: 'gloss', shadeId: 'clear', intensity: 0.5 },
    ]);
    tracker.lookSaved(lookId, ['ruby', 'gloss'], clock);
    tracker.observe(0, (clock += 2000));
    for (const p of payloads) expect(await svc.ingest.deliver(eventsTopic(addr), p)).toBe('stored');
    expect(svc.ingest.stats().invalid).toBe(0);
    expect(await stats(addr.storeId)).toMatchObject({
      sessions: 1,
      dwell: { totalMs: 500 },
      looksSaved: 1,
      productsTried: [
        { productId: 'gloss', count: 1 },
        { productId: 'ruby', count: 1 },
      ],
      productsSaved: [
        { productId: 'gloss', count: 1 },
        { productId: 'ruby', count: 1 },
      ],
    });
  });

  it("an event without its type's keys is refused naming the field; guessed aliases count for nothing; an unknown type is kept, not counted", async () => {
    const addr = { storeId: 'alias-store', deviceId: 'alias-mirror' };
    const send = (type: string, data: Record<string, unknown>) =>
      svc.ingest.deliver(eventsTopic(addr), Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId: addr.deviceId, ts: Date.now(), type, data })));
    const invalid = () => svc.ingest.stats().invalidBy;
    await send('product.tried', { sessionId: 's1', product: 'lip-1' });
    expect(invalid()['bad-field:data.productId']).toBe(1);
    await send('session.end', { sessionId: 's1', durationS: 40, productsTried: 0, looksSaved: 0, reason: 'idle' });
    expect(invalid()['bad-field:data.dwellMs']).toBe(1);
    await send('session.ended', { dwellMs: 40_000 });
    await send('product-tried', { productId: 'lip-1' });
    expect((await svc.store.messages.counts()).events).toBeGreaterThanOrEqual(2);
    expect(await stats(addr.storeId)).toMatchObject({ sessions: 0, dwell: { totalMs: 0 }, productsTried: [], looksSaved: 0 });
  });
});
