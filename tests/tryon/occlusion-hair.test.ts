/**
 * Blush never lands on a lock of hair across the cheek: a real lock (a strip of the ash-brown hair
 * of face-api sample4, inside the hand-annotated hair in tests/fixtures/hair.hand.json) pasted
 * across the cheek of another real face where a strong blush lands, then the blush through the
 * daemon's try-on stage. The cheek beside the lock is visibly painted (mean ΔE2000 > 5) and the
 * lock is not: mean ΔE2000 (culori) over its pixels (1 px inside its outline) < 1, the bar the
 * mouth, finger and eye tests hold. Measured 0.00 (cheek 2-12 px beside it 18.1) with the skin
 * gate (occlusion/skin.ts: the mesh knows nothing of hair); 2.58 (max 37.5) with its colour test
 * alone, before the closing over strands: the lock's lightest strands come within the skin model's
 * lightness spread; 30.5 with no gate.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision, readRgb } from '../helpers/vision.ts';
import { product } from '../helpers/tryon.ts';
import { CatalogSlot } from '../../device/tryon/catalog.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { framedShopper, inside, meanDeltaE, pasteCutout, shift, shrink, type Fixture, type Poly } from './occlusion-helpers.ts';

const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'occlusion.hand.json'), 'utf8'));
const hair: { file: string; hair: Poly[] } = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'hair.hand.json'), 'utf8'));

/** A lock 70 x 12 px, inside the annotated crown (its first polygon). */
const LOCK: Poly = [
  [1080, 140],
  [1150, 140],
  [1150, 152],
  [1080, 152],
];

let vision: Awaited<ReturnType<typeof loadVision>>;
beforeAll(async () => {
  vision = await loadVision();
});

describe('blush never lands on hair across the cheek', () => {
  it('a real lock of hair pasted over the blush: the lock unchanged, the cheek painted', async () => {
    expect(LOCK.every(([x, y]) => inside([hair.hair[0]], x, y))).toBe(true);
    const blush = product('blush', '#e0206a', 'matte', { opacity: 1 });
    const stage = () => createTryOnStage({ selection: () => ({ items: [blush], compare: null, chosen: true }), gate: createOcclusionGate, catalog: new CatalogSlot() });
    const { file, faceBox } = fixture.fingers[0].target;
    // Where the blush lands on the bare face: the most painted pixel of the image-left half of the face.
    const bare = await framedShopper(vision, file, faceBox);
    const before = Buffer.from(bare.frame.data);
    stage()(bare.frame, bare.faces);
    let best = { d: 0, x: 0, y: 0 };
    const faceMid = bare.faces[0].box.x + bare.faces[0].box.width / 2;
    for (let y = 0; y < bare.frame.height; y++)
      for (let x = 0; x < faceMid; x++) {
        const o = (y * bare.frame.width + x) * 3;
        const d = Math.abs(bare.frame.data[o] - before[o]) + Math.abs(bare.frame.data[o + 1] - before[o + 1]) + Math.abs(bare.frame.data[o + 2] - before[o + 2]);
        if (d > best.d) best = { d, x, y };
      }
    expect(best.d).toBeGreaterThan(30);
    // The lock's centre on that pixel (photo coordinates).
    const offset: [number, number] = [Math.round(best.x + bare.origin[0] - 1115), Math.round(best.y + bare.origin[1] - 146)];
    const source = await readRgb(hair.file);
    let outline: Poly = [];
    const shot = await framedShopper(vision, file, faceBox, (target) => {
      const pasted = pasteCutout(source, LOCK, target, offset);
      outline = pasted.outline;
      return pasted.image;
    });
    const input = Buffer.from(shot.frame.data);
    stage()(shot.frame, shot.faces);
    const onLock = shift([shrink(outline)], shot.origin);
    const lock = meanDeltaE(input, shot.frame, onLock);
    // The cheek just above and below the lock (12 px bands), off the lock.
    const lockBox = shift([outline], shot.origin)[0];
    const ys = lockBox.map((p) => p[1]);
    const xs = lockBox.map((p) => p[0]);
    const band = (y0: number, y1: number): Poly => [[Math.min(...xs), y0], [Math.max(...xs), y0], [Math.max(...xs), y1], [Math.min(...xs), y1]];
    const cheek = meanDeltaE(input, shot.frame, [band(Math.min(...ys) - 12, Math.min(...ys) - 2), band(Math.max(...ys) + 2, Math.max(...ys) + 12)]);
    console.log(`hair lock over the blush: lock ΔE2000 mean ${lock.mean.toFixed(2)} (max ${lock.max.toFixed(1)}, ${lock.n} px); cheek beside it ${cheek.mean.toFixed(1)} (${cheek.n} px)`);
    expect(lock.n).toBeGreaterThan(400);
    expect(cheek.mean).toBeGreaterThan(5);
    expect(lock.mean).toBeLessThan(1);
  });
});
