/**
 * The tone reading under a coloured store light, with the colour profile the daemon would apply:
 * a real face (face-api demo photo) beside a ColorChecker chart, the whole scene rendered under a
 * 3000 K and a 6500 K light for a camera balanced at 5000 K (tests/calibration/chart-render.ts), a
 * profile solved from the chart in that very photo (calibration/colour, as `calibrate color`
 * does), applied as the daemon applies it (createColourCorrector, in place), then the real
 * tracker and the advisor's reading. The neutral scene (no cast) is read the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createColourCorrector } from '../../calibration/colour/apply.ts';
import { calibrateColour } from '../../calibration/colour/calibrate.ts';
import { CORNER_PATCH_CENTRES } from '../../calibration/colour/corners.ts';
import { profileFromFit } from '../../calibration/colour/profile.ts';
import { fitHomography, mapPoint, type Point } from '../../calibration/homography.ts';
import { readStill, type SkinReading } from '../../device/advisor/reading.ts';
import { hueAngle } from '../../device/advisor/undertone.ts';
import type { Face } from '../../device/vision/face.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { renderChartPhoto, type Distortion } from '../calibration/chart-render.ts';
import { shopperFrom } from '../helpers/tryon.ts';
import { loadVision } from '../helpers/vision.ts';
import { besideChart, faceIn, pngFile, type Vision } from './support.ts';

const PHOTOS = ['@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg'];
const SIDE = 360;

let vision: Vision;
beforeAll(async () => {
  vision = await loadVision();
}, 120_000);

/** The shopper window scaled to SIDE x SIDE. */
async function shopperSquare(photo: string): Promise<RgbImage> {
  const { image } = await shopperFrom(vision, photo);
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(SIDE, SIDE)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

// The chart on the right half of the canvas (the shopper is on the left).
const CHART: Distortion['corners'] = [
  [SIDE + 40, 90],
  [2 * SIDE - 30, 95],
  [2 * SIDE - 35, 270],
  [SIDE + 45, 265],
];
const BODY: Point[] = [
  [-0.3, -0.3],
  [6.3, -0.3],
  [6.3, 4.3],
  [-0.3, 4.3],
];

async function readUnder(background: string, cast: Distortion['cast'] | undefined, known?: Face): Promise<{ corrected: SkinReading; raw: SkinReading; deltaE: number; face: Face }> {
  const { image } = await renderChartPhoto({ corners: CHART, size: { width: 2 * SIDE, height: SIDE }, exposure: 0.6, noise: 2, jpeg: 90, ...(cast ? { cast } : {}) }, background);
  const corners = CORNER_PATCH_CENTRES.map((p) => mapPoint(fitHomography(BODY, CHART)!, p));
  const { fit } = calibrateColour(image, { corners });
  const corrected: RgbImage = { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  createColourCorrector(profileFromFit(fit, 'test-camera')).apply(corrected.data);
  // The scene's geometry is the same in every render: the neutral scene's mesh serves the cast ones
  // (on sample2 the detector missed the face in the corrected 3000 K render: a recall question,
  // not this test's), and the uncorrected reading uses the same mesh.
  const face = known ?? (await faceIn(vision, corrected));
  return { corrected: readStill(corrected, face)!, raw: readStill(image, face)!, deltaE: fit.after.mean, face };
}

describe('tone under a 3000 K and a 6500 K store light, with the matching calibration profile applied', () => {
  for (const photo of PHOTOS) {
    it(`${photo.split('/').pop()}: the corrected reading equals the neutral one ±1 MST`, async () => {
      const background = await pngFile(besideChart(await shopperSquare(photo)), 'shopper-and-chart');
      const neutral = await readUnder(background, undefined);
      const line = (name: string, r: SkinReading) => `${name}: MST ${r.monk} ITA ${r.ita}° hue ${hueAngle(r.lab).toFixed(1)}° ${r.undertone}`;
      console.log(`${photo}\n  ${line('neutral, corrected', neutral.corrected)}`);
      for (const scene of [3000, 6500]) {
        const under = await readUnder(background, { scene, camera: 5000 }, neutral.face);
        console.log(`  ${line(`${scene} K uncorrected`, under.raw)}\n  ${line(`${scene} K corrected (chart mean ΔE2000 ${under.deltaE.toFixed(2)})`, under.corrected)}`);
        expect(Math.abs(under.corrected.monk - neutral.corrected.monk), `${scene} K`).toBeLessThanOrEqual(1);
        expect(under.corrected.undertone, `${scene} K undertone`).toBe(neutral.corrected.undertone);
      }
    }, 600_000);
  }
});
