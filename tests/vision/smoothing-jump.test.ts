/**
 * The smoother on its own (issue 19): when the landmarks it is handed jump (another face at
 * another place, without the tracker having said reset), it starts afresh instead of blending the
 * old face's shape and place into the new one; ordinary motion is still smoothed. Real landmarks:
 * the meshes of two people from the package photos.
 */
import { describe, expect, it } from 'vitest';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { DEFAULT_SMOOTHING, LandmarkSmoother } from '../../device/vision/smoothing.ts';
import { interOcular } from '../../device/vision/regions.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { loadVision } from '../helpers/vision.ts';
import { PEOPLE, compose, headOf, type Placement } from './scene.ts';

type Landmarks = Array<[number, number, number]>;
const shifted = (lm: Landmarks, dx: number, dy: number): Landmarks => lm.map(([x, y, z]) => [x + dx, y + dy, z]);
const meanDistance = (a: Landmarks, b: Landmarks) => a.reduce((s, p, i) => s + Math.hypot(p[0] - b[i][0], p[1] - b[i][1]), 0) / a.length;

describe('landmark smoother', () => {
  it('starts afresh when another face appears one inter-ocular distance away, and still smooths a small step', async () => {
    const vision = await loadVision();
    const meshOf = async (head: RgbImage, at: Placement) => {
      const raw = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5, smoothing: { ...DEFAULT_SMOOTHING, enabled: false } });
      return (await raw.process(await compose([{ head, at }]))).faces[0].landmarks;
    };
    const a = await meshOf(await headOf(PEOPLE[2]), { cx: 300, cy: 240, side: 260 });
    const iod = interOcular(a);
    const b = await meshOf(await headOf(PEOPLE[0]), { cx: 300 + iod, cy: 250, side: 250 });
    const smoother = new LandmarkSmoother(DEFAULT_SMOOTHING);
    for (let i = 0; i < 10; i++) smoother.smooth(a, i * 33);
    // A small step (3 % of the inter-ocular distance) is filtered: the output lies behind its input.
    const small = shifted(a, 0.03 * iod, 0);
    const smallLag = meanDistance(smoother.smooth(small, 330), small);
    // Another person one inter-ocular distance away: the output is that person's landmarks.
    const jumpLag = meanDistance(smoother.smooth(b, 363), b);
    console.log(`IOD ${iod.toFixed(1)} px; small step: output ${smallLag.toFixed(2)} px from its input; other face: ${jumpLag.toFixed(4)} px from its input`);
    expect(smallLag).toBeGreaterThan(0.05);
    expect(jumpLag).toBeLessThan(0.01 * iod);
  }, 120_000);
});
