/**
 * The device's guard on a GAN refinement (device/gan/residual-guard.ts), on held-out faces made up
 * by the daemon's try-on stage, against refinements built to break each promise (a fleet-delivered
 * model could do any of this; the guard, not the model, is what the device relies on):
 *   - colour: a refinement that changes the shade (+40 red, −30 blue levels over the whole reach):
 *     pasted as is it moves the blurred colour far past ΔE2000 3; guarded, the mean CIEDE2000
 *     (culori, models/gan/quality.ts: an implementation independent of the guard's) stays ≤ 3,
 *     and nothing moves beyond the paste weight;
 *   - drawn light: a refinement that paints a gloss, shimmer or holographic lipstick matte (the
 *     matte render minus the finished one): guarded, most of the finish's own highlights and glints
 *     (their signature: finished − matte render) are still there.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { alignFace, warpToCrop } from '../../device/gan/align.ts';
import { makeupCoverage, pasteWeight } from '../../device/gan/coverage.ts';
import { PASTE_RADIUS } from '../../device/gan/gan-stage.ts';
import { ciede2000, DEFAULT_GUARD, guardResidual } from '../../device/gan/residual-guard.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import { differenceCiede2000 } from 'culori';
import { meanDeltaE, selectWhere } from '../../models/gan/quality.ts';
import { facesOf, loadVision, renderLook, type PhotoFace } from '../../models/gan/train/dataset.ts';
import { readTrainConfig } from '../../models/gan/train/prepare-data.ts';

const SIZE = 128;
let faces: PhotoFace[];
beforeAll(async () => {
  const config = await readTrainConfig();
  const vision = await loadVision();
  faces = [];
  for (const photo of config.heldOutPhotos) faces.push(...(await facesOf(vision, photo, config.minFacePx)));
  expect(faces.length).toBeGreaterThanOrEqual(6);
}, 300_000);

function crops(pf: PhotoFace, productId: string, shadeId: string, finish?: string) {
  const product = bundledCatalog().products.find((p) => p.id === productId)!;
  const shade = product.shades.find((s) => s.id === shadeId)!;
  const t = alignFace(pf.face.landmarks, SIZE);
  const bare = warpToCrop(pf.image, t, SIZE);
  const { frame } = renderLook(pf.image.data, pf.image.width, pf.image.height, pf.face, [{ product, shade: finish ? { ...shade, finish: finish as typeof shade.finish } : shade, intensity: 1 }]);
  return { bare, render: warpToCrop(frame, t, SIZE) };
}

const toBytes = (render: Uint8Array, residual: Float32Array) => Uint8Array.from(render, (v, i) => Math.min(255, Math.max(0, Math.round(v + residual[i]))));
const luma = (img: ArrayLike<number>, i: number) => 0.299 * img[i * 3] + 0.587 * img[i * 3 + 1] + 0.114 * img[i * 3 + 2];

describe('GAN residual guard', () => {
  it('agrees with culori on CIEDE2000', () => {
    // Sharma, Wu and Dalal's published test pairs (2005, table 1: pairs 1, 17, 25).
    expect(ciede2000(50, 2.6772, -79.7751, 50, 0, -82.7485)).toBeCloseTo(2.0425, 4);
    expect(ciede2000(50, 2.5, 0, 73, 25, -18)).toBeCloseTo(27.1492, 4);
    expect(ciede2000(60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387)).toBeCloseTo(1.2644, 4);
    // culori's (the quality report's) works in CIELAB D65 (its lab65 space).
    const de = differenceCiede2000();
    const pairs: Array<[number, number, number, number, number, number]> = [];
    let s = 7;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let k = 0; k < 200; k++) pairs.push([50 + 45 * r(), 80 * r(), 80 * r(), 50 + 45 * r(), 80 * r(), 80 * r()]);
    for (const [L1, a1, b1, L2, a2, b2] of pairs) expect(ciede2000(L1, a1, b1, L2, a2, b2)).toBeCloseTo(de({ mode: 'lab65', l: L1, a: a1, b: b1 }, { mode: 'lab65', l: L2, a: a2, b: b2 }), 6);
  });

  it('a refinement that changes the shade is held to ΔE2000 ≤ 3 and to the paste reach', () => {
    for (const pf of faces) {
      for (const [productId, shadeId] of [
        ['lumiere-rouge-satin', 'ruby'],
        ['velour-cheek-tint', 'petal'],
      ]) {
        const { bare, render } = crops(pf, productId, shadeId);
        const coverage = makeupCoverage(bare, render, SIZE);
        const weight = pasteWeight(coverage, SIZE, PASTE_RADIUS);
        const hostile = new Float32Array(SIZE * SIZE * 3);
        for (let i = 0; i < SIZE * SIZE; i++) {
          hostile[i * 3] = 40;
          hostile[i * 3 + 2] = -30;
        }
        const inside = selectWhere(coverage, (v) => v >= 0.5);
        const raw = meanDeltaE(toBytes(render, hostile), render, SIZE, inside);
        const g = guardResidual(hostile, render, coverage, weight, SIZE);
        const guarded = meanDeltaE(toBytes(render, g.residual), render, SIZE, inside);
        let beyond = 0;
        for (let i = 0; i < SIZE * SIZE; i++) if (weight[i] === 0) beyond += Math.abs(g.residual[i * 3]) + Math.abs(g.residual[i * 3 + 1]) + Math.abs(g.residual[i * 3 + 2]);
        console.log(`${pf.id} ${shadeId}: shade-changing refinement ΔE2000 ${raw.toFixed(2)} raw → ${guarded.toFixed(2)} guarded (scale ${g.scale.toFixed(3)})`);
        expect(raw, pf.id).toBeGreaterThan(5);
        expect(guarded, pf.id).toBeLessThanOrEqual(3);
        expect(beyond, pf.id).toBe(0);
      }
    }
  });

  it('where the high-pass alone still moves the colour, the scale-down holds the configured bound', () => {
    // The high-pass leaves ΔE 0.7-2.4 of the shade-changing refinement (clipping adds low
    // frequency); a bound under that can only be met by scaling the residual down.
    const maxDeltaE = 0.4;
    for (const pf of faces) {
      const { bare, render } = crops(pf, 'lumiere-rouge-satin', 'ruby');
      const coverage = makeupCoverage(bare, render, SIZE);
      const hostile = new Float32Array(SIZE * SIZE * 3);
      for (let i = 0; i < SIZE * SIZE; i++) {
        hostile[i * 3] = 40;
        hostile[i * 3 + 2] = -30;
      }
      const g = guardResidual(hostile, render, coverage, pasteWeight(coverage, SIZE, PASTE_RADIUS), SIZE, { ...DEFAULT_GUARD, maxDeltaE });
      const guarded = meanDeltaE(toBytes(render, g.residual), render, SIZE, selectWhere(coverage, (v) => v >= 0.5));
      expect(g.scale, pf.id).toBeLessThan(1);
      expect(guarded, pf.id).toBeLessThanOrEqual(maxDeltaE + 0.1);
    }
  });

  it('a refinement that paints a gloss, shimmer or holographic lipstick matte keeps most of the finish', () => {
    const retained: Record<string, number[]> = {};
    for (const pf of faces) {
      for (const [productId, shadeId] of [
        ['kora-glass-gloss', 'cherry-glaze'],
        ['kora-glass-gloss', 'clear-pink'],
        ['atelier-stardust', 'berry-sparkle'],
        ['atelier-stardust', 'champagne-pink'],
        ['kora-prism', 'violet-halo'],
      ]) {
        const { bare, render } = crops(pf, productId, shadeId);
        const { render: matte } = crops(pf, productId, shadeId, 'matte');
        const coverage = makeupCoverage(bare, render, SIZE);
        const eraser = Float32Array.from(render, (v, i) => matte[i] - v);
        const g = guardResidual(eraser, render, coverage, pasteWeight(coverage, SIZE, PASTE_RADIUS), SIZE);
        const refined = toBytes(render, g.residual);
        let dot = 0;
        let ss = 0;
        for (let i = 0; i < SIZE * SIZE; i++) {
          const sig = luma(render, i) - luma(matte, i);
          if (sig <= 3) continue;
          dot += sig * (luma(refined, i) - luma(matte, i));
          ss += sig * sig;
        }
        (retained[shadeId] ??= []).push(dot / ss);
      }
    }
    for (const [shade, r] of Object.entries(retained)) {
      const mean = r.reduce((a, b) => a + b, 0) / r.length;
      console.log(`${shade}: finish signature kept against a matte-painting refinement, mean ${mean.toFixed(3)}, worst ${Math.min(...r).toFixed(3)}`);
      expect(mean, shade).toBeGreaterThanOrEqual(0.85);
    }
  });
});
