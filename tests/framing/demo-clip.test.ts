/**
 * Framing on the portrait demo clip (device/assets/demo-portrait.mp4: a 1920x1080 camera on its
 * side) at 1080x1920, through the stages the daemon builds (daemon/frame-path.ts framingStage +
 * framing/stage.ts framedStages, the real face models, the people scan): every frame is decoded
 * (with the capture child's own orientation filters) and framed, none dropped.
 *  - the shopper's face centre stays in the middle third of the glass, both ways, on every frame;
 *  - the crop never moves a corner by more than 2 % of its width between frames;
 *  - glass pixels per camera pixel across the face (the magnification) stay ≤ 1.5;
 *  - a second person (a real face from another photo) stepping in widens the crop to hold both.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../device/config/load.ts';
import type { Frame } from '../../device/core/frame.ts';
import { framingStage } from '../../device/daemon/frame-path.ts';
import { displayMagnification, imageToDisplay, type Rect } from '../../device/framing/geometry.ts';
import { landmarkBox } from '../../device/framing/planner.ts';
import { framedStages, type Seen } from '../../device/framing/stage.ts';
import type { Shown } from '../../device/pipeline.ts';
import { orientFilters } from '../../device/source/orientation.ts';
import { createFaceStage, type FaceStage } from '../../device/vision/face-stage.ts';
import { repoRoot } from '../helpers/daemon.ts';

const CLIP = path.join(repoRoot, 'device/assets/demo-portrait.mp4');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, trace: () => {}, fatal: () => {}, child: () => quiet } as never;
const config = validateConfig({ framing: { enabled: true }, capture: { width: 1920, height: 1080, rotation: 90 } });
const display = config.display;

/** Largest move of any crop corner between two crops, as a share of the earlier one's width. */
function cornerJump(a: Rect, b: Rect): number {
  const moves = [b.x - a.x, b.y - a.y, b.x + b.width - (a.x + a.width), b.y + b.height - (a.y + a.height)].map(Math.abs);
  return Math.max(...moves) / a.width;
}

describe.skipIf(!hasFfmpeg)('virtual-mirror framing on the portrait demo clip (real models, every frame)', () => {
  let dir: string;
  let files: string[];
  let vision: FaceStage;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'portrait-clip-'));
    const vf = orientFilters({ width: 1920, height: 1080 }, { rotation: 90 }).join(',');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', CLIP, '-vf', vf, '-q:v', '2', path.join(dir, '%04d.jpg')]);
    expect(r.status, String(r.stderr)).toBe(0);
    files = readdirSync(dir).sort().map((f) => path.join(dir, f));
    vision = await createFaceStage(config.vision, quiet, { stateDir: mkdtempSync(path.join(os.tmpdir(), 'framing-state-')) });
  }, 180_000);

  afterAll(() => {
    vision?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function frameAt(n: number, paste?: (img: Sharp) => Sharp): Promise<Frame> {
    let img = sharp(files[n % files.length]).removeAlpha();
    if (paste) img = sharp(await paste(img).png().toBuffer()).removeAlpha();
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { id: n + 1, capturedAt: (n * 1000) / 30, width: info.width, height: info.height, format: 'rgb24', data };
  }

  it('keeps the face in the middle third, moves smoothly, never blows the face up beyond 1.5x', async () => {
    expect(files.length).toBe(150);
    const stages = framedStages(framingStage(config, vision), (small) => vision.tracker.process(small), () => {});
    let prev: Rect | null = null;
    const centres: Array<[number, number]> = [];
    let maxJump = 0;
    let maxMag = 0;
    let minMag = Infinity;
    for (let n = 0; n < files.length; n++) {
      const frame = await frameAt(n);
      const seen: Seen = await stages.vision(frame);
      const shown: Shown = await stages.frame(frame, seen);
      // The quiet moment the daemon's pipeline gives the people scan after each emit.
      await stages.idle()?.();
      const t = shown.framing!;
      expect(shown.faces.length, `frame ${n}: no face`).toBe(1);
      expect(shown.frame.width).toBeLessThanOrEqual(display.width);
      const box = landmarkBox(shown.faces[0].landmarks);
      const transform = { sensor: { width: 1920, height: 1080 }, rotation: 90 as const, crop: t.crop, out: { width: shown.frame.width, height: shown.frame.height }, display, mirror: true };
      const centre = imageToDisplay(transform, [box.x + box.width / 2, box.y + box.height / 2]);
      centres.push([centre[0] / display.width, centre[1] / display.height]);
      // Across the face: glass pixels per camera pixel (camera face width from the camera-pixel mesh).
      const cameraFace = landmarkBox(seen.faces[0].landmarks).width;
      const glassFace = box.width * Math.max(display.width / shown.frame.width, display.height / shown.frame.height);
      const mag = glassFace / cameraFace;
      expect(mag).toBeCloseTo(displayMagnification(transform), 1);
      maxMag = Math.max(maxMag, mag);
      minMag = Math.min(minMag, mag);
      if (prev) maxJump = Math.max(maxJump, cornerJump(prev, t.crop));
      prev = t.crop;
    }
    const xs = centres.map((c) => c[0]);
    const ys = centres.map((c) => c[1]);
    console.log(
      `demo clip at ${display.width}x${display.height}, ${files.length} frames: face centre x ${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)}, ` +
        `y ${Math.min(...ys).toFixed(3)}..${Math.max(...ys).toFixed(3)} of the glass; largest crop jump ${(maxJump * 100).toFixed(2)} % of its width; ` +
        `magnification across the face ${minMag.toFixed(2)}..${maxMag.toFixed(2)} (glass px per camera px)`,
    );
    for (const [x, y] of centres) {
      expect(x).toBeGreaterThan(1 / 3);
      expect(x).toBeLessThan(2 / 3);
      expect(y).toBeGreaterThan(1 / 3);
      expect(y).toBeLessThan(2 / 3);
    }
    expect(maxJump).toBeLessThanOrEqual(0.02);
    expect(maxMag).toBeLessThanOrEqual(1.5);
  }, 600_000);

  it('widens the crop when a second person steps in, and keeps both faces in the picture', async () => {
    // A real second face: the right-hand woman of face-api's sample6 (BlazeFace box x 1467, y 307, 249 px).
    const photo = createRequire(import.meta.url).resolve('@vladmandic/face-api/demo/sample6.jpg');
    const patch = await sharp(photo).extract({ left: 1317, top: 157, width: 549, height: 850 }).resize(520).png().toBuffer();
    const stages = framedStages(framingStage(config, vision), (small) => vision.tracker.process(small), () => {});
    vision.tracker.reset();
    const widths: number[] = [];
    let prev: Rect | null = null;
    let maxJump = 0;
    let last: Shown | null = null;
    // Frames 60..149: the shopper sways to the left half; from frame 90 the second person slides in from the right edge.
    for (let n = 60; n < 150; n++) {
      const k = n - 90;
      const left = k < 0 ? null : Math.round(1080 - Math.min(1, (k + 1) / 15) * 480);
      const frame = await frameAt(n, left === null ? undefined : (img) => img.composite([{ input: patch, left, top: 560 }]));
      const seen = await stages.vision(frame);
      last = await stages.frame(frame, seen);
      await stages.idle()?.();
      widths.push(last.framing!.crop.width);
      if (prev) maxJump = Math.max(maxJump, cornerJump(prev, last.framing!.crop));
      prev = last.framing!.crop;
    }
    const before = Math.max(...widths.slice(0, 30));
    const after = widths[widths.length - 1];
    console.log(`second person: crop width ${before} → ${after} camera px (${((after / before - 1) * 100).toFixed(0)} % wider); largest jump ${(maxJump * 100).toFixed(2)} %`);
    expect(after).toBeGreaterThan(before * 1.15);
    expect(maxJump).toBeLessThanOrEqual(0.02);
    // Both faces inside the final crop: the second face (x 1080-480+150 .. +260 in the frame) and the shopper's.
    const crop = last!.framing!.crop;
    expect(crop.x + crop.width).toBeGreaterThanOrEqual(600 + 150 + 260);
    const shopper = landmarkBox(last!.faces[0].landmarks);
    expect(shopper.x).toBeGreaterThan(0);
    expect(shopper.x + shopper.width).toBeLessThan(last!.frame.width);
  }, 600_000);
});
