/**
 * The daemon sends the kiosk the pixels it shows: on the real daemon (framing on, the landscape
 * demo clip captured at 1280x720, a 1920x1080 display configured), a kiosk socket reports its
 * mirror box with `kiosk:display` as the kiosk does, and the frames that follow are cut in the
 * box's aspect and sized at most to it, never upscaled by the daemon (the emitted image is never
 * wider than the camera crop it comes from); the transform beside each frame names the box. A box
 * that fails validation changes nothing; one too small to be a mirror falls back to the display.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIP } from '../../device/source/index.ts';
import type { FrameMessage } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { connectKiosk, type TryOnKiosk } from '../helpers/tryon-kiosk.ts';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const DISPLAY = { width: 1920, height: 1080 };

/** Sized for `box`: its aspect (to the pixel the crop is cut on), within it, not upscaled. */
function expectSizedFor(f: FrameMessage, box: { width: number; height: number }): void {
  const t = f.framing!;
  expect(t.display).toEqual(box);
  expect(f.width).toBeLessThanOrEqual(box.width);
  expect(f.height).toBeLessThanOrEqual(box.height);
  expect(Math.abs(f.width / f.height - box.width / box.height)).toBeLessThan(2 / f.height + 0.005);
  // Never upscaled by the daemon: as many camera pixels as emitted ones, or more.
  expect(f.width).toBeLessThanOrEqual(t.crop.width);
  expect(f.height).toBeLessThanOrEqual(t.crop.height);
}

describe.skipIf(!hasFfmpeg)('kiosk:display sizes the framed output (real daemon)', { timeout: 240_000 }, () => {
  let daemon: RunningDaemon;
  let kiosk: TryOnKiosk;

  beforeAll(async () => {
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'kiosk-display-')), 'mirror.json');
    writeFileSync(config, JSON.stringify({ mqtt: { embeddedPort: 0 }, framing: { enabled: true }, source: `clip:${DEMO_CLIP}`, capture: { width: 1280, height: 720 }, display: DISPLAY }));
    daemon = await startDaemon({ env: { MIRROR_CONFIG: config }, timeoutMs: 120_000 });
    kiosk = await connectKiosk(daemon.url);
  }, 180_000);

  afterAll(async () => {
    kiosk?.close();
    await daemon?.stop();
  });

  it('before the kiosk says: the configured display; after: the landscape kiosk box 1280x1080, then a smaller one', async () => {
    const before = await kiosk.frameAfter(Date.now());
    expectSizedFor(before, DISPLAY);

    // The landscape kiosk: the mirror takes 1280x1080 of the 1920x1080 screen, the panel the rest.
    kiosk.socket.emit('kiosk:display', { width: 1280, height: 1080, devicePixelRatio: 1 });
    const box = await kiosk.frameAfter(Date.now(), (f) => f.framing?.display.width === 1280);
    expectSizedFor(box, { width: 1280, height: 1080 });
    const h = await (await fetch(`${daemon.url}/healthz`)).json();
    expect(h.calibration.framing.display).toEqual({ width: 1280, height: 1080 });

    // A portrait box (480x640 device px, e.g. a 240x320 CSS box at 2x): the crop turns portrait, at most 480 wide.
    kiosk.socket.emit('kiosk:display', { width: 480, height: 640, devicePixelRatio: 2 });
    const small = await kiosk.frameAfter(Date.now(), (f) => f.framing?.display.width === 480);
    expectSizedFor(small, { width: 480, height: 640 });
    console.log(
      `frames for the display ${before.width}x${before.height} (crop ${before.framing!.crop.width}x${before.framing!.crop.height}); ` +
        `for the kiosk box 1280x1080 ${box.width}x${box.height} (crop ${box.framing!.crop.width}x${box.framing!.crop.height}); ` +
        `for 480x640 ${small.width}x${small.height} (crop ${small.framing!.crop.width}x${small.framing!.crop.height})`,
    );
  });

  it('a box that fails validation changes nothing; one too small to be a mirror falls back to the configured display', async () => {
    kiosk.socket.emit('kiosk:display', { width: 800, height: 600, devicePixelRatio: 1 });
    await kiosk.frameAfter(Date.now(), (f) => f.framing?.display.width === 800);
    kiosk.socket.emit('kiosk:display', { width: 0, height: 600, devicePixelRatio: 1 } as never);
    kiosk.socket.emit('kiosk:display', { width: 'wide', height: 600 } as never);
    const after = Date.now();
    const still = await kiosk.frameAfter(after);
    await kiosk.frameAfter(still.capturedAt);
    expectSizedFor(await kiosk.frameAfter(still.capturedAt), { width: 800, height: 600 });

    kiosk.socket.emit('kiosk:display', { width: 100, height: 90, devicePixelRatio: 1 });
    const fallback = await kiosk.frameAfter(Date.now(), (f) => f.framing?.display.width === DISPLAY.width);
    expectSizedFor(fallback, DISPLAY);
  });
});
