/**
 * The per-frame corrector (table look-ups, calibration/colour/apply.ts) against the model computed
 * in floating point with culori's sRGB encoding: within one code value on every pixel tried.
 */
import { converter } from 'culori';
import { describe, expect, it } from 'vitest';
import { createColourCorrector } from '../../calibration/colour/apply.ts';
import { correctLinear, decodeSrgb, type ColourModel } from '../../calibration/colour/model.ts';
import type { Rgb } from '../../calibration/colour/reference.ts';

const WARM: ColourModel = {
  method: 'matrix',
  whiteBalance: [1.6, 1.9, 3.1],
  toneExponent: [1.05, 1, 0.95],
  matrix: [
    [1.12, -0.08, -0.04],
    [-0.05, 1.09, -0.04],
    [0.01, -0.12, 1.11],
  ],
};
const ROOT: ColourModel = { ...WARM, method: 'root-polynomial', matrix: WARM.matrix.map((row, i) => [...row, 0.05 * (i - 1), -0.03, 0.02]) };

const toRgb = converter('rgb');
const expected = (model: ColourModel, px: Rgb): number[] => {
  const [r, g, b] = correctLinear(model, decodeSrgb(px)).map((v) => Math.min(1, Math.max(0, v)));
  const c = toRgb({ mode: 'lrgb', r, g, b });
  return [c.r, c.g, c.b].map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
};

describe('the per-frame colour corrector', () => {
  for (const model of [WARM, ROOT]) {
    it(`${model.method}: every pixel within one code value of the float model + culori`, () => {
      const pixels: Rgb[] = [];
      for (let r = 0; r < 256; r += 15) for (let g = 0; g < 256; g += 17) for (let b = 0; b < 256; b += 15) pixels.push([r, g, b]);
      const data = Uint8Array.from(pixels.flat());
      createColourCorrector(model).apply(data);
      let worst = 0;
      pixels.forEach((px, i) => expected(model, px).forEach((v, c) => (worst = Math.max(worst, Math.abs(v - data[i * 3 + c])))));
      expect(worst).toBeLessThanOrEqual(1);
      // And it changed the picture (a warm profile moves most pixels).
      expect(pixels.filter((px, i) => px.some((v, c) => v !== data[i * 3 + c])).length).toBeGreaterThan(pixels.length * 0.8);
    });
  }
});
