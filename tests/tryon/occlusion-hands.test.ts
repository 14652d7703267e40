/**
 * A finger on the lips is not painted: a real finger (cut from a package photo where it rests at a
 * mouth) pasted over the closed lips of another real face, then a strong lipstick through the
 * daemon's try-on stage. Mean ΔE2000 (culori) between input and output over the finger's pixels
 * (1 px inside its outline: edge pixels mix finger and lip) < 1, while the uncovered lips are
 * painted (mean ΔE2000 > 10 on the lip band outside the finger).
 * Fixture: tests/fixtures/occlusion.hand.json `fingers` (its notes say how the outline was drawn).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision, readRgb } from '../helpers/vision.ts';
import { createTryOnStage, nothingChosen } from '../../device/tryon/tryon-stage.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { LIPS_INNER, LIPS_OUTER, loop } from '../../device/vision/regions.ts';
import { framedShopper, inside, meanDeltaE, pasteCutout, shift, shrink, strongLipstickSlot, STRONG_PRODUCT, type Fixture, type FramedShopper, type Poly } from './occlusion-helpers.ts';

const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'occlusion.hand.json'), 'utf8'));

let vision: Awaited<ReturnType<typeof loadVision>>;
beforeAll(async () => {
  vision = await loadVision();
});

describe('lipstick never lands on a finger over the lips', () => {
  for (const finger of fixture.fingers) {
    it(`${path.basename(finger.target.file)} (${finger.what}): finger unchanged, lips painted`, async () => {
      const source = await readRgb(finger.source);
      let outline: Poly = [];
      const shot = await framedShopper(vision, finger.target.file, finger.target.faceBox, (target) => {
        const pasted = pasteCutout(source, finger.polygon, target, finger.target.offset);
        outline = pasted.outline;
        return pasted.image;
      });
      const before = Buffer.from(shot.frame.data);
      expect(createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() })(shot.frame, shot.faces)).toEqual([STRONG_PRODUCT]);
      const onFinger = shift([shrink(outline)], shot.origin);
      const fingerDelta = meanDeltaE(before, shot.frame, onFinger);
      // Lip band pixels the finger does not cover: the lipstick is really on.
      const lm = shot.faces[0].landmarks;
      const outer = loop(lm, LIPS_OUTER);
      const inner = loop(lm, LIPS_INNER);
      const mid = (t: number) => outer.map(([x, y], i): [number, number] => [x + (inner[i][0] - x) * t, y + (inner[i][1] - y) * t]);
      const clear = shift([outline], shot.origin);
      const lips = meanDeltaE(before, shot.frame, [mid(0.35), mid(0.65)], (x, y) => !inside(clear, x, y));
      console.log(`${path.basename(finger.target.file)}: finger ΔE2000 mean ${fingerDelta.mean.toFixed(2)} (max ${fingerDelta.max.toFixed(1)}, ${fingerDelta.n} px), uncovered lip band ${lips.mean.toFixed(1)} (${lips.n} px)`);
      expect(fingerDelta.n).toBeGreaterThan(300);
      expect(lips.n).toBeGreaterThan(50);
      expect(lips.mean).toBeGreaterThan(10);
      expect(fingerDelta.mean).toBeLessThan(1);
    });

    it(`${path.basename(finger.target.file)}: a finger arriving on a track that has seen the bare lips is not painted either (the gate's hysteresis takes a real change at once)`, async () => {
      const source = await readRgb(finger.source);
      let outline: Poly = [];
      const bare = await framedShopper(vision, finger.target.file, finger.target.faceBox);
      const shot = await framedShopper(vision, finger.target.file, finger.target.faceBox, (target) => {
        const pasted = pasteCutout(source, finger.polygon, target, finger.target.offset);
        outline = pasted.outline;
        return pasted.image;
      });
      // One stage (one track's gate memory): three frames of bare lips at 30 fps, then the finger.
      const stage = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() });
      for (let k = 0; k < 3; k++) stage({ ...bare.frame, id: k + 1, capturedAt: k * 33, data: Buffer.from(bare.frame.data) }, bare.faces);
      const frame = { ...shot.frame, id: 4, capturedAt: 100 };
      const before = Buffer.from(frame.data);
      expect(stage(frame, shot.faces)).toEqual([STRONG_PRODUCT]);
      const onFinger = shift([shrink(outline)], shot.origin);
      const fingerDelta = meanDeltaE(before, frame, onFinger);
      // The same frame on a fresh track (no history): the finger must be painted no more after the bare frames.
      const fresh = { ...frame, data: Buffer.from(before) };
      createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() })(fresh, shot.faces);
      const freshDelta = meanDeltaE(before, fresh, onFinger);
      console.log(`${path.basename(finger.target.file)} after 3 bare frames: finger ΔE2000 mean ${fingerDelta.mean.toFixed(2)} (max ${fingerDelta.max.toFixed(1)}, ${fingerDelta.n} px); as a first frame ${freshDelta.mean.toFixed(2)}`);
      expect(fingerDelta.n).toBeGreaterThan(300);
      expect(fingerDelta.mean).toBeLessThan(1);
      expect(fingerDelta.mean).toBeLessThanOrEqual(freshDelta.mean + 0.05);
    });
  }
});

describe('the gate\'s memory does not outlive the shopper in front of it', () => {
  /** Three frames of `a` on one stage (one gate memory), then `b` `gapMs` after the last: `b`'s frame, and the same frame on a fresh stage. */
  const afterHistory = (a: FramedShopper, b: FramedShopper, gapMs: number) => {
    const stage = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() });
    for (let k = 0; k < 3; k++) stage({ ...a.frame, id: k + 1, capturedAt: k * 33, data: Buffer.from(a.frame.data) }, a.faces);
    const tracked = { ...b.frame, id: 4, capturedAt: 66 + gapMs, data: Buffer.from(b.frame.data) };
    expect(stage(tracked, b.faces)).toEqual([STRONG_PRODUCT]);
    const fresh = { ...tracked, data: Buffer.from(b.frame.data) };
    createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() })(fresh, b.faces);
    expect(fresh.data.equals(Buffer.from(b.frame.data))).toBe(false);
    let differ = 0;
    for (let i = 0; i < fresh.data.length; i++) if (tracked.data[i] !== fresh.data[i]) differ++;
    return differ;
  };

  it('a new shopper in the next frame (the mouth elsewhere): drawn byte for byte as on a fresh track', async () => {
    const first = fixture.mouths[0];
    const next = fixture.fingers[0].target;
    expect(afterHistory(await framedShopper(vision, first.file, first.faceBox), await framedShopper(vision, next.file, next.faceBox), 33)).toBe(0);
  });

  it('the same mouth after a second without frames (a finger on the lips, then none): drawn byte for byte as on a fresh track', async () => {
    const finger = fixture.fingers[0];
    const source = await readRgb(finger.source);
    const covered = await framedShopper(vision, finger.target.file, finger.target.faceBox, (target) => pasteCutout(source, finger.polygon, target, finger.target.offset).image);
    const bare = await framedShopper(vision, finger.target.file, finger.target.faceBox);
    expect(afterHistory(covered, bare, 1000)).toBe(0);
  });
});
