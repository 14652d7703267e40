/**
 * The tone reading under a coloured store light, with the colour profile the daemon would apply:
 * a real face (face-api demo photo) beside a ColorChecker chart, the whole scene rendered under a
 * 3000 K and a 6500 K light for a camera balanced at 5000 K (tests/calibration/chart-render.ts), a
 * profile solved from the chart in that very photo (calibration/colour, as `calibrate color`
 * does), applied as the daemon applies it (createColourCorrector, in place), then the real
 * tracker and the advisor's reading. The neutral scene (no cast) is read the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readStill, type SkinReading } from '../../device/advisor/reading.ts';
import { hueAngle } from '../../device/advisor/undertone.ts';
import type { Face } from '../../device/vision/face.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { shopperFrom } from '../helpers/tryon.ts';
import { loadVision } from '../helpers/vision.ts';
import type { Distortion } from '../calibration/chart-render.ts';
import { besideChart, castScene, faceIn, pngFile, sceneSquare, type Vision } from './support.ts';

const PHOTOS = ['@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg'];

let vision: Vision;
beforeAll(async () => {
  vision = await loadVision();
}, 120_000);

/** The shopper window scaled to the scene's square. */
async function shopperSquare(photo: string): Promise<RgbImage> {
  return sceneSquare((await shopperFrom(vision, photo)).image);
}

async function readUnder(background: string, cast: Distortion['cast'] | undefined, known?: Face): Promise<{ corrected: SkinReading; raw: SkinReading; deltaE: number; face: Face }> {
  const { raw: image, corrected, fit } = await castScene(background, cast);
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
