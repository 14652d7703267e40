/**
 * The real daemon on the demo clip draws and encodes a frame only when a kiosk can take it: while
 * the only kiosk holds back its receipt, frames still go through vision (counted as processed and
 * as skipped for that kiosk) but try-on does not draw them and they are not encoded (the
 * capture→emit histogram, one sample per encoded frame, and the drawn counter stand nearly still:
 * one resend per ack timeout); once it acknowledges again, frames are drawn, encoded and sent again.
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { until } from '../helpers/until.ts';

interface Counters {
  processed: number;
  drawn: number;
  encoded: number;
  skipped: number;
}

async function counters(url: string): Promise<Counters> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? Number.NaN);
  return { processed: value('mirror_frames_emitted_total'), drawn: value('mirror_frames_drawn_total'), encoded: value('mirror_capture_to_emit_seconds_count'), skipped: value('mirror_kiosk_skipped_frames_total') };
}

describe('encode on demand (real daemon, demo clip)', () => {
  let daemon: RunningDaemon;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  beforeAll(async () => {
    // Generous: the daemon's start (models, tfjs) takes over a minute on the loaded 2-core machine.
    daemon = await startDaemon({ timeoutMs: 150_000 });
  }, 160_000);
  afterAll(async () => {
    socket?.close();
    await daemon?.stop();
  });

  it('does not encode frames while the only kiosk has not received the last one', async () => {
    let hold = false;
    let frames = 0;
    const held: Array<() => void> = [];
    // A retry's kiosk is the only one: the failed attempt's, acknowledging everything, would make every frame wanted.
    socket?.close();
    socket = io(daemon.url, { transports: ['websocket'] });
    socket.on('frame', (_frame, received) => {
      frames++;
      if (hold) held.push(received);
      else received();
    });
    await until(() => frames >= 10, { timeoutMs: 60_000, what: '10 frames at the kiosk' });
    hold = true;
    const before = await counters(daemon.url);
    const heldAt = performance.now();
    // Long enough for at least 15 more frames through the pipeline, however loaded the machine.
    await until(async () => (await counters(daemon.url)).processed - before.processed >= 15 || undefined, { timeoutMs: 60_000, what: '15 frames processed while held' });
    const during = await counters(daemon.url);
    const seconds = Math.ceil((performance.now() - heldAt) / 1000);
    const encoded = during.encoded - before.encoded;
    // The frame in flight when the hold began; per 1 s ack timeout, the resend and the frames
    // around the receipt time the daemon expects (a frame interval either side).
    expect(encoded).toBeLessThanOrEqual(2 + 3 * seconds);
    expect(during.processed - before.processed - encoded).toBeGreaterThanOrEqual(10);
    // Try-on did not draw the frames nobody could take: the same bound as the encodes (a frame
    // wanted when its draw began may still find the kiosk busy at its encode: one per frame in flight).
    const drawn = during.drawn - before.drawn;
    expect(drawn).toBeLessThanOrEqual(3 + 3 * seconds);
    expect(during.processed - before.processed - drawn).toBeGreaterThanOrEqual(10);
    expect(during.skipped - before.skipped).toBeGreaterThanOrEqual(during.processed - before.processed - encoded);
    hold = false;
    for (const received of held.splice(0)) received();
    const resumed = await counters(daemon.url);
    await until(async () => (await counters(daemon.url)).processed - resumed.processed >= 15 || undefined, { timeoutMs: 60_000, what: '15 frames processed after release' });
    const after = await counters(daemon.url);
    // Frames are encoded and sent again: every frame whose receipt the daemon expects within a
    // frame interval, so on a loaded machine (this process acking late) not every one.
    expect(after.encoded - resumed.encoded).toBeGreaterThanOrEqual(0.4 * (after.processed - resumed.processed));
    // Drawn again (the one frame drawn before the release and encoded after it aside).
    expect(after.drawn - resumed.drawn).toBeGreaterThanOrEqual(after.encoded - resumed.encoded - 1);
  }, 180_000);
});
