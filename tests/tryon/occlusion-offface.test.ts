/**
 * Skin products never paint off the face: a cheek-family mask as large as the frame (as a blush
 * zone swept past the face oval would be, at its far edge) goes through the daemon's occlusion gate
 * on a real photo; everything farther than the gate's pad (0.3 inter-ocular distances) beside or
 * below the face oval's box comes back 0, while the cheek itself stays painted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision } from '../helpers/vision.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { FACE_OVAL, interOcular, loop, regionPolygons } from '../../device/vision/regions.ts';
import { framedShopper, inside, type Fixture } from './occlusion-helpers.ts';

const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'occlusion.hand.json'), 'utf8'));

let vision: Awaited<ReturnType<typeof loadVision>>;
beforeAll(async () => {
  vision = await loadVision();
});

describe('the skin gate keeps paint on the face', () => {
  it('a frame-sized cheek mask is zero beyond the face oval and painted on the cheek', async () => {
    const { file, faceBox } = fixture.fingers[0].target;
    const shot = await framedShopper(vision, file, faceBox);
    const lm = shot.faces[0].landmarks;
    const { width, height } = shot.frame;
    const mask = { rect: { x: 0, y: 0, width, height }, alpha: new Float32Array(width * height).fill(1) };
    createOcclusionGate(shot.frame, shot.faces[0]).apply('cheekRight', mask);

    const oval = loop(lm, FACE_OVAL);
    const pad = 0.35 * interOcular(lm);
    const minX = Math.min(...oval.map((p) => p[0])) - pad;
    const maxX = Math.max(...oval.map((p) => p[0])) + pad;
    const maxY = Math.max(...oval.map((p) => p[1])) + pad;
    let offFace = 0;
    let paintedOffFace = 0;
    let cheek = 0;
    let paintedCheek = 0;
    const cheekPoly = regionPolygons(lm, 'cheekRight');
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const a = mask.alpha[y * width + x];
        // Above the oval the skin region reaches up to the hairline: only the sides and below are off the face.
        if (x < minX || x > maxX || y > maxY) {
          offFace++;
          if (a > 0) paintedOffFace++;
        } else if (inside(cheekPoly, x + 0.5, y + 0.5)) {
          cheek++;
          if (a > 0.5) paintedCheek++;
        }
      }
    }
    console.log(`off the face: ${paintedOffFace} of ${offFace} px painted; cheek: ${paintedCheek} of ${cheek} px`);
    expect(offFace).toBeGreaterThan(10_000);
    expect(paintedOffFace).toBe(0);
    expect(cheek).toBeGreaterThan(200);
    expect(paintedCheek / cheek).toBeGreaterThan(0.5);
  });
});
