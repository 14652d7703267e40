/**
 * The skin gate's fast loop (occlusion/skin.ts: one test per 2x2 block, memoised per colour bin)
 * gives every pixel exactly what the plain rule gives it: each pixel of the gated rect that lies
 * on the Lab plane is multiplied by the keep of its 2x2 block's first pixel's colour bin, where
 * keep = 1 − ramp(distance from the skin model, NOT_SKIN) of the bin's centre colour. On a real
 * photo, with a rect that starts before the plane and ends past it (blocks start at an odd offset,
 * the last row and column of blocks are cut in half), and with the memo reused across two calls.
 * The memo is shared by calls with the same model (one frame's family rect and a blush zone gated on
 * its own) and never by a call with another model (the next frame's skin).
 */
import { describe, expect, it } from 'vitest';
import { distance, ramp, sampleModel } from '../../device/tryon/occlusion/colour-model.ts';
import { LabPlane, srgbToLab } from '../../device/tryon/occlusion/lab-plane.ts';
import { applySkinGate, KEY_BITS, newSkinScratch, NOT_SKIN, STRANDS } from '../../device/tryon/occlusion/skin.ts';
import { readRgb } from '../helpers/vision.ts';

/** The photo on a Lab plane over all of it, and a skin model sampled from its middle (its face) by the real sampler. */
async function wholePhoto() {
  const image = await readRgb('@vladmandic/face-api/demo/sample4.jpg');
  const lab = new LabPlane({ width: image.width, data: image.data }, { x: 0, y: 0, width: image.width, height: image.height });
  const cx = image.width / 2;
  const cy = image.height / 2;
  const box: Array<[number, number]> = [[cx - 40, cy - 40], [cx + 40, cy - 40], [cx + 40, cy + 40], [cx - 40, cy + 40]];
  const skin = sampleModel(lab, { rect: { x: Math.floor(cx - 41), y: Math.floor(cy - 41), width: 83, height: 83 }, polys: [box] }, { L: 10, a: 3, b: 3 })!;
  expect(skin).not.toBeNull();
  return { image, lab, skin };
}

describe('skin gate', () => {
  it('equals the per-pixel rule on a real photo, edges and memo included', async () => {
    const image = await readRgb('@vladmandic/face-api/demo/sample4.jpg');
    const frame = { width: image.width, height: image.height, data: image.data };
    // Odd width and height: the plane's last column and last row of blocks are half blocks.
    const odd = (n: number) => 2 * Math.floor(n / 2) + 1;
    const plane = { x: 40, y: 30, width: odd(image.width - 91), height: odd(image.height - 70) };
    const lab = new LabPlane(frame, plane);
    // A skin model sampled from the middle of the photo (its face): the real sampler, not numbers made up.
    const cx = image.width / 2;
    const cy = image.height / 2;
    const box: Array<[number, number]> = [[cx - 40, cy - 40], [cx + 40, cy - 40], [cx + 40, cy + 40], [cx - 40, cy + 40]];
    const skin = sampleModel(lab, { rect: { x: Math.floor(cx - 41), y: Math.floor(cy - 41), width: 83, height: 83 }, polys: [box] }, { L: 10, a: 3, b: 3 })!;
    expect(skin).not.toBeNull();
    // Starts 7 px left of and 3 px above the plane, ends past its right and bottom edges: odd offsets both ways.
    const rect = { x: plane.x - 7, y: plane.y - 3, width: plane.width + 20, height: plane.height + 10 };
    const start = new Float32Array(rect.width * rect.height).map((_, i) => ((i * 7919) % 1000) / 999);

    const shift = 8 - KEY_BITS;
    const half = 1 << (shift - 1);
    const probe = new Float32Array(3);
    const expected = start.slice();
    let gated = 0;
    let kept = 0;
    const x0 = plane.x - rect.x;
    const y0 = plane.y - rect.y;
    // Every block multiplies by the memo's float32 copy of its bin's keep, the bin's first block included.
    const bin = (v: number) => ((v >> shift) << shift) | half;
    for (let by = y0; by < y0 + plane.height; by += 2)
      for (let bx = x0; bx < x0 + plane.width; bx += 2) {
        const p = ((rect.y + by) * frame.width + rect.x + bx) * 3;
        srgbToLab(bin(frame.data[p]), bin(frame.data[p + 1]), bin(frame.data[p + 2]), probe, 0);
        const exact = 1 - ramp(distance(skin, probe, 0), NOT_SKIN.lo, NOT_SKIN.hi);
        const keep = Math.fround(exact);
        if (keep === 1) kept++;
        else gated++;
        for (let y = by; y < Math.min(by + 2, y0 + plane.height); y++)
          for (let x = bx; x < Math.min(bx + 2, x0 + plane.width); x++) expected[y * rect.width + x] = Math.fround(start[y * rect.width + x] * keep);
      }
    // The photo has both skin and not-skin under the rect (else the comparison would prove little).
    expect(gated).toBeGreaterThan(5000);
    expect(kept).toBeGreaterThan(5000);

    const scratch = newSkinScratch();
    for (let call = 0; call < 2; call++) {
      const vis = start.slice();
      applySkinGate(lab, skin, rect, vis, 0, scratch);
      // One stamp for both calls: the second is served the first one's keeps.
      expect(scratch.call).toBe(1);
      let differ = 0;
      for (let i = 0; i < vis.length; i++) if (!Object.is(vis[i], expected[i])) differ++;
      expect(differ).toBe(0);
    }
  });

  it('with a closing: a block is kept no more than 1 − ramp(the not-skin share of the blocks within r, STRANDS) (real photo)', async () => {
    const { image, lab, skin } = await wholePhoto();
    const rect = { x: 0, y: 0, width: 2 * Math.floor(image.width / 2), height: 2 * Math.floor(image.height / 2) };
    const gated = (closingPx: number) => {
      const vis = new Float32Array(rect.width * rect.height).fill(1);
      applySkinGate(lab, skin, rect, vis, closingPx, newSkinScratch());
      return vis;
    };
    const plain = gated(0);
    const r = 3;
    const closed = gated(2 * r);
    // Per 2x2 block (its top-left pixel), the plain keep and the mean not-skin share of the blocks within r that lie in the rect.
    const bw = rect.width / 2;
    const bh = rect.height / 2;
    const keepAt = (bx: number, by: number) => plain[2 * by * rect.width + 2 * bx];
    let raised = 0;
    let worst = 0;
    for (let by = 0; by < bh; by++)
      for (let bx = 0; bx < bw; bx++) {
        let share = 0;
        let n = 0;
        for (let y = Math.max(0, by - r); y <= Math.min(bh - 1, by + r); y++)
          for (let x = Math.max(0, bx - r); x <= Math.min(bw - 1, bx + r); x++, n++) share += 1 - keepAt(x, y);
        share /= n;
        const expected = Math.min(keepAt(bx, by), 1 - ramp(share, STRANDS.lo, STRANDS.hi));
        if (expected < keepAt(bx, by) - 1e-3) raised++;
        for (const [x, y] of [[0, 0], [1, 0], [0, 1], [1, 1]]) worst = Math.max(worst, Math.abs(closed[(2 * by + y) * rect.width + 2 * bx + x] - expected));
      }
    // The closing changes the verdict somewhere on this photo (its hair against its skin), and everywhere as the rule says.
    expect(raised).toBeGreaterThan(200);
    expect(worst).toBeLessThan(1e-5);
  });

  it('a call with another skin model (the next frame\'s) is never served the keeps measured against the last one', async () => {
    const { image, lab, skin: face } = await wholePhoto();
    // The same skin a little darker and redder: many bins' keeps move, some across the ramp.
    const next = { ...face, L: face.L - 8, a: face.a + 4 };
    const rect = { x: 10, y: 10, width: image.width - 20, height: image.height - 20 };
    const fresh = (model: typeof face) => {
      const vis = new Float32Array(rect.width * rect.height).fill(1);
      applySkinGate(lab, model, rect, vis, 0, newSkinScratch());
      return vis;
    };
    const expected = fresh(next);
    const differs = fresh(face).some((v, i) => v !== expected[i]);
    expect(differs).toBe(true);
    const scratch = newSkinScratch();
    applySkinGate(lab, face, rect, new Float32Array(rect.width * rect.height).fill(1), 0, scratch);
    const vis = new Float32Array(rect.width * rect.height).fill(1);
    applySkinGate(lab, next, rect, vis, 0, scratch);
    let differ = 0;
    for (let i = 0; i < vis.length; i++) if (vis[i] !== expected[i]) differ++;
    expect(differ).toBe(0);
  });
});
