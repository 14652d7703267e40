/**
 * The colour model a profile stores and the daemon applies, per pixel:
 *
 *   camera sRGB code → linear (sRGB decoding) → × whiteBalance → ^ toneExponent → matrix · terms
 *
 * `toneExponent` undoes a camera tone curve that is not sRGB's (fitted on the grey ramp), so the
 * matrix works on light that is linear again. Terms are r, g, b for the 3x3 matrix; root-polynomial
 * (Finlayson, Mackiewicz & Hurlbert 2015, degree 2) adds sqrt(rg), sqrt(gb), sqrt(rb): every term
 * scales with exposure, so the fit holds when the light gets brighter or dimmer.
 */
import { converter } from 'culori';
import type { Rgb } from './reference.ts';

export type CorrectionMethod = 'matrix' | 'root-polynomial';

export interface ColourModel {
  method: CorrectionMethod;
  whiteBalance: Rgb;
  toneExponent: Rgb;
  /** 3 rows (output r, g, b) of 3 (matrix) or 6 (root-polynomial) coefficients. */
  matrix: number[][];
}

export const TERM_COUNT: Record<CorrectionMethod, number> = { matrix: 3, 'root-polynomial': 6 };

export function terms(method: CorrectionMethod, [r, g, b]: Rgb): number[] {
  if (method === 'matrix') return [r, g, b];
  return [r, g, b, Math.sqrt(r * g), Math.sqrt(g * b), Math.sqrt(r * b)];
}

/** White-balanced, re-linearised camera light (the matrix's input). */
export function balance(model: Pick<ColourModel, 'whiteBalance' | 'toneExponent'>, linear: Rgb): Rgb {
  return linear.map((v, c) => Math.max(0, v * model.whiteBalance[c]) ** model.toneExponent[c]) as Rgb;
}

/** Linear sRGB out of the model, unclamped. */
export function correctLinear(model: ColourModel, linear: Rgb): Rgb {
  const t = terms(model.method, balance(model, linear));
  return model.matrix.map((row) => row.reduce((s, k, i) => s + k * t[i], 0)) as Rgb;
}

const toLinear = converter('lrgb');

/** Linear sRGB of an 8-bit-scale sRGB triple (may be fractional: a patch mean). */
export function decodeSrgb([r, g, b]: Rgb): Rgb {
  const c = toLinear({ mode: 'rgb', r: r / 255, g: g / 255, b: b / 255 });
  return [c.r, c.g, c.b];
}
