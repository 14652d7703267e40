/**
 * Fits the colour model to the 24 sampled patches and reports ΔE2000 per patch, before and after.
 *
 * 1. Tone and white balance from the grey ramp: per channel, measured = k · reference^γ (a line in
 *    log-log), so whiteBalance = 1/k and toneExponent = 1/γ map the greys onto the reference.
 * 2. The matrix by weighted least squares in linear RGB over every unclipped patch. Weights
 *    ~ Y^(-2/3) follow the slope of L* (∝ Y^(1/3)), so dark patches count as much as the eye says.
 * 3. Then Levenberg-Marquardt on ΔE2000 itself, as the display shows the result (clamped to
 *    sRGB): least squares in RGB cannot see that a patch outside the gamut (cyan) is clipped.
 */
import { differenceCiede2000, type Color } from 'culori';
import { CalibrationError } from '../errors.ts';
import { leastSquares, solveLinear } from '../linalg.ts';
import { balance, correctLinear, decodeSrgb, TERM_COUNT, terms, type ColourModel, type CorrectionMethod } from './model.ts';
import { NEUTRAL_PATCHES, PATCH_NAMES, REFERENCE_LAB, REFERENCE_LINEAR, type Rgb } from './reference.ts';

export interface PatchSample {
  /** Mean of the kept pixels, 0-255 sRGB code values (fractional). */
  rgb: Rgb;
  /** Share of the sampled pixels with a clipped highlight channel (rejected from the mean). */
  clippedFraction: number;
  /** Pixels in the mean. */
  pixels: number;
}

/** A patch whose sampled area is mostly clipped: it says nothing about the colour. */
export const CLIPPED_PATCH = 0.5;

export interface PatchReport {
  index: number;
  name: string;
  before: number;
  after: number;
  clipped: boolean;
}

export interface DeltaSummary {
  mean: number;
  max: number;
}

export interface ColourFit {
  model: ColourModel;
  patches: PatchReport[];
  before: DeltaSummary;
  after: DeltaSummary;
}

const deltaE = differenceCiede2000();
const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** ΔE2000 between a linear sRGB colour (as shown: clamped to the display) and a reference patch. */
export function deltaEToReference(linear: Rgb, index: number): number {
  const shown: Color = { mode: 'lrgb', r: clamp01(linear[0]), g: clamp01(linear[1]), b: clamp01(linear[2]) };
  return deltaE(REFERENCE_LAB[index], shown);
}

function fitTone(samples: readonly PatchSample[], usable: (i: number) => boolean): Pick<ColourModel, 'whiteBalance' | 'toneExponent'> {
  const greys = NEUTRAL_PATCHES.filter((i) => usable(i) && decodeSrgb(samples[i].rgb).every((v) => v > 1e-4));
  if (greys.length < 3) {
    throw new CalibrationError('clipped', `only ${greys.length} of the 6 grey patches are usable (need 3): the chart is over- or under-exposed`);
  }
  const whiteBalance: number[] = [];
  const toneExponent: number[] = [];
  for (let c = 0; c < 3; c++) {
    const rows = greys.map((i) => [1, Math.log(REFERENCE_LINEAR[i][c])]);
    const y = greys.map((i) => Math.log(decodeSrgb(samples[i].rgb)[c]));
    const fit = leastSquares(rows, y);
    const gamma = fit?.[1] ?? NaN;
    if (!fit || !(gamma > 0.3 && gamma < 3.5)) {
      throw new CalibrationError('fit-failed', `the grey patches do not form a tone ramp in channel ${'rgb'[c]} (exponent ${gamma.toFixed(2)})`);
    }
    // measured = k · ref^γ  ⇒  ref = (measured / k)^(1/γ)
    whiteBalance.push(Math.exp(-fit[0]));
    toneExponent.push(1 / gamma);
  }
  return { whiteBalance: whiteBalance as Rgb, toneExponent: toneExponent as Rgb };
}

function fitMatrix(method: CorrectionMethod, balanced: readonly Rgb[], patches: readonly number[]): number[][] {
  const rows = patches.map((i) => terms(method, balanced[i]));
  const weights = patches.map((i) => {
    const [r, g, b] = REFERENCE_LINEAR[i];
    return (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.01) ** (-2 / 3);
  });
  return [0, 1, 2].map((c) => {
    const row = leastSquares(
      rows,
      patches.map((i) => REFERENCE_LINEAR[i][c]),
      weights,
    );
    if (!row || row.some((v) => !Number.isFinite(v))) {
      throw new CalibrationError('fit-failed', `the ${method} fit is singular (${patches.length} usable patches)`);
    }
    return row;
  });
}

/** ΔE2000² of each patch after the matrix `flat` (row-major), as shown on the display. */
function residuals(method: CorrectionMethod, flat: readonly number[], balanced: readonly Rgb[], patches: readonly number[]): number[] {
  const k = TERM_COUNT[method];
  return patches.map((i) => {
    const t = terms(method, balanced[i]);
    const out = [0, 1, 2].map((c) => t.reduce((s, v, j) => s + flat[c * k + j] * v, 0)) as Rgb;
    // Squared: the fit then minimises sum ΔE^4, which leans on the worst patch (the brief is mean and max).
    return deltaEToReference(out, i) ** 2;
  });
}

const sumSquares = (r: readonly number[]): number => r.reduce((s, v) => s + v * v, 0);

/** Levenberg-Marquardt on the matrix entries, numeric Jacobian; a few iterations from the least-squares start. */
function refineMatrix(method: CorrectionMethod, start: number[][], balanced: readonly Rgb[], patches: readonly number[]): number[][] {
  let flat = start.flat();
  let r = residuals(method, flat, balanced, patches);
  let cost = sumSquares(r);
  let lambda = 1e-3;
  for (let iter = 0; iter < 20; iter++) {
    const jac = flat.map((_, p) => {
      const step = flat.slice();
      step[p] += 1e-5;
      return residuals(method, step, balanced, patches).map((v, i) => (v - r[i]) / 1e-5);
    });
    const jtj = jac.map((a) => jac.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));
    const jtr = jac.map((a) => -a.reduce((s, v, i) => s + v * r[i], 0));
    const damped = jtj.map((row, p) => row.map((v, q) => (p === q ? v * (1 + lambda) + 1e-9 : v)));
    const delta = solveLinear(damped, jtr);
    if (!delta) break;
    const next = flat.map((v, p) => v + delta[p]);
    const nr = residuals(method, next, balanced, patches);
    const nc = sumSquares(nr);
    if (nc < cost) {
      const gain = cost - nc;
      [flat, r, cost, lambda] = [next, nr, nc, lambda / 3];
      if (gain < 1e-4 * cost) break;
    } else {
      lambda *= 4;
    }
  }
  const k = TERM_COUNT[method];
  return [0, 1, 2].map((c) => flat.slice(c * k, c * k + k));
}

const summary = (values: number[]): DeltaSummary => ({
  mean: values.reduce((s, v) => s + v, 0) / values.length,
  max: Math.max(...values),
});

export interface FitOptions {
  method?: CorrectionMethod;
  /** Fit without the clipped patches instead of refusing the photo. */
  allowClipped?: boolean;
  /** Refine on ΔE2000 (default); the detector scores its hypotheses without it. */
  refine?: boolean;
}

/**
 * Fits the model to the samples (24, in chart order). A photo with clipped patches is refused
 * (naming them) unless `allowClipped`: then they are left out of the fit and of the summary.
 */
export function fitColour(samples: readonly PatchSample[], options: FitOptions = {}): ColourFit {
  const { method = 'matrix', allowClipped = false, refine = true } = options;
  const clipped = (i: number): boolean => samples[i].clippedFraction > CLIPPED_PATCH || samples[i].pixels === 0;
  const usable = samples.map((_, i) => i).filter((i) => !clipped(i));
  if (!allowClipped && usable.length < samples.length) {
    const names = samples.map((_, i) => i).filter(clipped).map((i) => `${i + 1} (${PATCH_NAMES[i]})`);
    throw new CalibrationError('clipped', `patch${names.length > 1 ? 'es' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} clipped (over-exposed): lower the exposure or the light and retake the photo`);
  }
  if (usable.length < TERM_COUNT[method] + 6) {
    throw new CalibrationError('clipped', `only ${usable.length} of 24 patches are unclipped: the chart is over-exposed`);
  }
  const tone = fitTone(samples, (i) => !clipped(i));
  const linear = samples.map((s) => decodeSrgb(s.rgb));
  const balanced = linear.map((l) => balance(tone, l));
  const start = fitMatrix(method, balanced, usable);
  const model: ColourModel = { method, ...tone, matrix: refine ? refineMatrix(method, start, balanced, usable) : start };
  const patches = samples.map((_, i) => ({
    index: i,
    name: PATCH_NAMES[i],
    before: deltaEToReference(linear[i], i),
    after: deltaEToReference(correctLinear(model, linear[i]), i),
    clipped: clipped(i),
  }));
  const scored = patches.filter((p) => !p.clipped);
  return {
    model,
    patches,
    before: summary(scored.map((p) => p.before)),
    after: summary(scored.map((p) => p.after)),
  };
}
