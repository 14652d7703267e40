/**
 * Never on teeth, tongue or the mouth cavity: a strong lipstick rendered through the daemon's own
 * try-on stage (createTryOnStage, which builds the occlusion gate before painting) leaves the
 * hand-annotated mouth interior of real open-mouth photos as it was: mean ΔE2000 (culori) between
 * input and output inside the annotation < 1. The same lipstick visibly covers the lips (mean ΔE2000
 * on the lip band > 10), so an unpainted frame cannot pass.
 *
 * Two photos have the tongue out, across the lip line (tongue-a: its tip over the lower lip;
 * tongue-b: over all of it). Their tongue's tip (a) and shaded sides (b) lie within the lip model's
 * colour spread; the gate's tongue rule (mouth.ts) tells them by being redder than the lips (a) or,
 * with the lower lip covered, pinker (b), connected to the opening. Without the rule they measured
 * 1.75 and 1.61; without the covered-half rule b misses by far (11.8).
 * Annotations: tests/fixtures/occlusion.hand.json (its notes say how they were made).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision } from '../helpers/vision.ts';
import { createTryOnStage, nothingChosen } from '../../device/tryon/tryon-stage.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { LIPS_INNER, LIPS_OUTER, loop } from '../../device/vision/regions.ts';
import { polygonBounds, type MaskRect } from '../../device/tryon/raster.ts';
import { distanceToOutline, framedShopper, inside, meanDeltaE, shift, strongLipstickSlot, STRONG_PRODUCT, type Fixture, type Poly } from './occlusion-helpers.ts';

/** Mean ΔE2000 inside the interior: the issue's bar, for every open mouth, tongue out or not (tongue-a 0.80, tongue-b 0.56 measured). */
const ISSUE_BAR = 1;
const TONGUE_BAR = ISSUE_BAR;

const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'occlusion.hand.json'), 'utf8'));

let vision: Awaited<ReturnType<typeof loadVision>>;
beforeAll(async () => {
  vision = await loadVision();
});

describe('lipstick never lands on the mouth interior (real open-mouth photos)', () => {
  for (const mouth of fixture.mouths) {
    it(`${path.basename(mouth.file)} (${mouth.what}): interior unchanged, lips painted`, async () => {
      const shot = await framedShopper(vision, mouth.file, mouth.faceBox);
      const before = Buffer.from(shot.frame.data);
      const applied = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: strongLipstickSlot() })(shot.frame, shot.faces);
      expect(applied).toEqual([STRONG_PRODUCT]);
      const interior = meanDeltaE(before, shot.frame, shift(mouth.interior, shot.origin));
      // The lip band halfway between the outer and inner lip lines (surely lip), or the annotated lip
      // surface where the mesh's band lies on something else (a tongue over the lower lip).
      const lm = shot.faces[0].landmarks;
      const outer = loop(lm, LIPS_OUTER);
      const inner = loop(lm, LIPS_INNER);
      const mid = (t: number) => outer.map(([x, y], i): [number, number] => [x + (inner[i][0] - x) * t, y + (inner[i][1] - y) * t]);
      const lips = meanDeltaE(before, shot.frame, mouth.lips ? shift(mouth.lips, shot.origin) : [mid(0.35), mid(0.65)]);
      console.log(`${path.basename(mouth.file)}: interior ΔE2000 mean ${interior.mean.toFixed(2)} (max ${interior.max.toFixed(1)}, ${interior.n} px), lip band ${lips.mean.toFixed(1)}`);
      expect(interior.n).toBeGreaterThan(30);
      expect(lips.mean).toBeGreaterThan(10);
      expect(interior.mean).toBeLessThan(mouth.tongueOut ? TONGUE_BAR : ISSUE_BAR);
    });
  }
});

/**
 * Over a gated mask on `rect`: the pixels whose centre lies 1 px or more inside the opening (a pixel
 * the line crosses is partly lip, and keeps that part of the paint), and how many of them kept any.
 */
function insideOpening(mask: { rect: MaskRect; alpha: Float32Array }, opening: Poly): { n: number; painted: number } {
  const { rect, alpha } = mask;
  let n = 0;
  let painted = 0;
  for (let y = 0; y < rect.height; y++)
    for (let x = 0; x < rect.width; x++) {
      const [px, py] = [rect.x + x + 0.5, rect.y + y + 0.5];
      if (!inside([opening], px, py) || distanceToOutline(opening, px, py) < 1) continue;
      n++;
      if (alpha[y * rect.width + x] > 0) painted++;
    }
  return { n, painted };
}

describe('the gate itself holds the mouth opening: any lips-family mask is zero inside the inner lip line', () => {
  // Every lips renderer's own mask leaves the opening out too (lips: a hard hole; the liner: its lip side
  // stops at the inner line), so only this test fails when the gate stops doing it: a lips-family mask a
  // renderer builds without that care (a full-mouth gloss over 'lipsOuter') must still paint no tooth,
  // tongue or cavity that the colour model takes for lip.
  for (const mouth of fixture.mouths) {
    it(`${path.basename(mouth.file)}: a full 'lipsOuter' mask, gated, is 0 at every pixel inside the inner lip line`, async () => {
      const shot = await framedShopper(vision, mouth.file, mouth.faceBox);
      const lm = shot.faces[0].landmarks;
      const rect = polygonBounds([loop(lm, LIPS_OUTER)], 4, shot.frame)!;
      const mask = { rect, alpha: new Float32Array(rect.width * rect.height).fill(1) };
      createOcclusionGate(shot.frame, shot.faces[0]).apply('lipsOuter', mask);
      const { n, painted } = insideOpening(mask, loop(lm, LIPS_INNER).map(([x, y]): [number, number] => [x, y]));
      expect(n).toBeGreaterThan(30);
      expect(painted).toBe(0);
      // The lips themselves stay open to paint (the gate does not simply close the whole mouth).
      const outer = loop(lm, LIPS_OUTER);
      const inner = loop(lm, LIPS_INNER);
      const band = [outer.map(([x, y], i): [number, number] => [x + (inner[i][0] - x) * 0.3, y + (inner[i][1] - y) * 0.3]), inner.map(([x, y]): [number, number] => [x, y])];
      let lip = 0;
      let open = 0;
      for (let y = 0; y < rect.height; y++)
        for (let x = 0; x < rect.width; x++) {
          if (!inside(band, rect.x + x + 0.5, rect.y + y + 0.5)) continue;
          lip++;
          if (mask.alpha[y * rect.width + x] > 0.5) open++;
        }
      expect(open).toBeGreaterThan(0.3 * lip);
    });
  }
});

describe('the gate holds the mouth opening for every region family, not only the lips', () => {
  // No renderer's skin, eye or brow region reaches the mouth today (faceSkin cuts the lips out, the
  // shaped zones stop at the cheeks), so only this test fails when the gate's own hole for the other
  // families goes (gate.ts `holes(... LIPS_INNER)`): a zone drawn a little too low (a chin contour,
  // a brow product's mask on a small face) must still paint no tooth or tongue.
  for (const mouth of fixture.mouths) {
    it(`${path.basename(mouth.file)}: full 'chin' (skin), 'eyeshadow' (eyes) and 'brows' masks over the mouth, gated, are 0 inside the inner lip line`, async () => {
      const shot = await framedShopper(vision, mouth.file, mouth.faceBox);
      const lm = shot.faces[0].landmarks;
      const rect = polygonBounds([loop(lm, LIPS_OUTER)], 4, shot.frame)!;
      const opening = loop(lm, LIPS_INNER).map(([x, y]): [number, number] => [x, y]);
      const gate = createOcclusionGate(shot.frame, shot.faces[0]);
      for (const region of ['chin', 'eyeshadow', 'brows'] as const) {
        const mask = { rect, alpha: new Float32Array(rect.width * rect.height).fill(1) };
        gate.apply(region, mask);
        const { n, painted } = insideOpening(mask, opening);
        // Farther than 2 px outside the opening: the gate must not simply zero the whole box.
        let outside = 0;
        let kept = 0;
        for (let y = 0; y < rect.height; y++)
          for (let x = 0; x < rect.width; x++) {
            const [px, py] = [rect.x + x + 0.5, rect.y + y + 0.5];
            if (inside([opening], px, py) || distanceToOutline(opening, px, py) < 2) continue;
            outside++;
            if (mask.alpha[y * rect.width + x] > 0.5) kept++;
          }
        expect(n).toBeGreaterThan(30);
        expect(painted, region).toBe(0);
        // Brows and eyes have no colour gate near the mouth; skin's colour gate takes the lips themselves out, so only some stays.
        expect(kept / outside, region).toBeGreaterThan(region === 'chin' ? 0.05 : 0.9);
      }
    });
  }
});
