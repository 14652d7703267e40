/**
 * The kiosk spends no work on frames it will not paint, and the daemon sends it frames no faster
 * than it paints them. Real daemon on the demo clip, real Chromium on the portrait glass; the
 * socket.io traffic is read off the kiosk's own websocket (as Chromium saw it, in order), the
 * decode and paint counts off the mirror canvas, the encodes off the daemon's /metrics.
 *
 * - every frame is acknowledged only after the kiosk said it painted it (`painted` goes out before
 *   the acknowledgement), apart from the few it let go unpainted;
 * - the daemon sends the next frame only after the acknowledgement of the last (or after its ack
 *   timeout, FRAME_ACK_TIMEOUT_MS);
 * - the kiosk decodes only frames it paints, and receives almost none it does not paint;
 * - the daemon encodes about as many frames as the kiosk paints (a frame nobody will take is not
 *   encoded).
 */
import type { Page, WebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_ACK_TIMEOUT_MS } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { until } from '../helpers/until.ts';
import { ensureUiBuilt, GLASSES, openGlass, type Glass } from './chromium.ts';

/** One socket.io packet on the kiosk's websocket, in the order Chromium saw them. */
type Packet =
  | { kind: 'frame'; id: number; ackId: number; at: number }
  | { kind: 'ack'; ackId: number; at: number }
  | { kind: 'painted'; id: number; at: number };

/** The socket.io packets that matter here (engine.io message '4' + socket.io type), text frames only. */
function parsePacket(payload: string | Buffer, sent: boolean, at: number): Packet | null {
  if (typeof payload !== 'string') return null; // binary attachments (the JPEG bytes)
  if (!sent) {
    // 45<attachments>-<ackId>["frame",{...}]
    const m = /^45\d+-(\d+)(\[.*)$/s.exec(payload);
    if (!m) return null;
    const [event, body] = JSON.parse(m[2]) as [string, { id: number }];
    return event === 'frame' ? { kind: 'frame', id: body.id, ackId: Number(m[1]), at } : null;
  }
  const ack = /^43(\d+)\[/.exec(payload);
  if (ack) return { kind: 'ack', ackId: Number(ack[1]), at };
  if (payload.startsWith('42["painted"')) {
    const [, body] = JSON.parse(payload.slice(2)) as [string, { id: number }];
    return { kind: 'painted', id: body.id, at };
  }
  return null;
}

async function mirrorCounts(page: Page): Promise<{ received: number; decoded: number; painted: number }> {
  return page.locator('[data-testid=mirror]').evaluate((el) => {
    const d = (el as HTMLElement).dataset;
    return { received: Number(d.received ?? 0), decoded: Number(d.decoded ?? 0), painted: Number(d.painted ?? 0) };
  });
}

async function encodedFrames(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^mirror_capture_to_emit_seconds_count (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

describe('kiosk flow control (real daemon, Chromium, demo clip)', () => {
  let daemon: RunningDaemon | undefined;
  let glass: Glass | undefined;
  const packets: Packet[] = [];
  let recording = false;

  beforeAll(async () => {
    await ensureUiBuilt();
    daemon = await startDaemon({ timeoutMs: 150_000 });
    glass = await openGlass(GLASSES[0]);
    glass.page.on('websocket', (ws: WebSocket) => {
      ws.on('framereceived', ({ payload }) => {
        const p = recording && parsePacket(payload, false, performance.now());
        if (p) packets.push(p);
      });
      ws.on('framesent', ({ payload }) => {
        const p = recording && parsePacket(payload, true, performance.now());
        if (p) packets.push(p);
      });
    });
    await glass.page.goto(daemon.url, { waitUntil: 'load' });
    await glass.page.locator('[data-testid=studio]').waitFor({ state: 'visible', timeout: 120_000 });
  }, 300_000);

  afterAll(async () => {
    await glass?.close();
    await daemon?.stop().catch(() => {});
  }, 30_000);

  it('acknowledges each frame after painting it, is sent no faster, and decodes only what it paints', async () => {
    const page = glass!.page;
    packets.length = 0; // a retry starts afresh
    const before = { counts: await mirrorCounts(page), encoded: await encodedFrames(daemon!.url) };
    recording = true;
    // At least 40 frames painted, however loaded the machine (at most two minutes).
    await until(async () => (await mirrorCounts(page)).painted - before.counts.painted >= 40 || undefined, { timeoutMs: 120_000, what: '40 frames painted' });
    recording = false;
    const after = { counts: await mirrorCounts(page), encoded: await encodedFrames(daemon!.url) };
    const received = after.counts.received - before.counts.received;
    const decoded = after.counts.decoded - before.counts.decoded;
    const painted = after.counts.painted - before.counts.painted;
    const encoded = after.encoded - before.encoded;

    // The protocol as seen on the wire.
    const frames = packets.filter((p) => p.kind === 'frame');
    const frameByAck = new Map(frames.map((f) => [f.ackId, f]));
    const paintedIds = new Set<number>();
    let ackedAfterPaint = 0;
    let ackedUnpainted = 0;
    let sentUnacked = 0;
    let outstanding: { ackId: number; at: number } | null = null;
    for (const p of packets) {
      if (p.kind === 'painted') paintedIds.add(p.id);
      else if (p.kind === 'ack') {
        const frame = frameByAck.get(p.ackId);
        if (!frame) continue; // acknowledges a frame sent before recording began
        if (paintedIds.has(frame.id)) ackedAfterPaint++;
        else ackedUnpainted++;
        if (outstanding?.ackId === p.ackId) outstanding = null;
      } else {
        // A frame while the last is neither acknowledged nor past the daemon's ack timeout: sent too
        // early. (Half the timeout: a resend after the timeout can look closer here than it was, when
        // the last frame took long to arrive on a loaded machine.)
        if (outstanding && p.at - outstanding.at < FRAME_ACK_TIMEOUT_MS / 2) sentUnacked++;
        outstanding = { ackId: p.ackId, at: p.at };
      }
    }
    const summary = `frames on the wire ${frames.length}, acked after their paint ${ackedAfterPaint}, acked unpainted ${ackedUnpainted}, sent before the last was acked ${sentUnacked}; kiosk received ${received}, decoded ${decoded}, painted ${painted}; daemon encoded ${encoded}`;
    console.log(summary);

    expect(frames.length, summary).toBeGreaterThanOrEqual(30);
    // Acknowledged once painted: all but a few (a frame the glass let go, a timeout's resend).
    expect(ackedAfterPaint, summary).toBeGreaterThanOrEqual(0.9 * (ackedAfterPaint + ackedUnpainted));
    // Never sent a frame while the last was unacknowledged and not yet timed out.
    expect(sentUnacked, summary).toBe(0);
    // Decodes only frames it paints (one may be decoding as the window closes).
    expect(decoded, summary).toBeLessThanOrEqual(painted + 1);
    // Receives hardly any it does not paint.
    expect(received - painted, summary).toBeLessThanOrEqual(0.05 * received + 2);
    // The daemon encodes about what the kiosk paints: a frame encoded for an acknowledgement that
    // came later than expected waits at most 50 ms and is then dropped, so some slack.
    expect(encoded, summary).toBeLessThanOrEqual(1.3 * painted + 5);
  }, 180_000);
});
