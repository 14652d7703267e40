/**
 * The 24 patches of the X-Rite ColorChecker Classic, row by row as the chart is read with its
 * brown "dark skin" patch top left and the grey row at the bottom.
 *
 * Values: CIELAB D50, 2° observer, of the formulation made after November 2014, as published by
 * X-Rite ("New color specifications for ColorChecker SG and Classic charts", xrite.com, the
 * ColorChecker Classic table measured with an i1Pro 2, M0). They are converted to linear sRGB and
 * to CIELAB D65 by culori, which adapts D50 → D65 with the Bradford transform.
 */
import { converter, type Lab } from 'culori';

export const CHART_COLUMNS = 6;
export const CHART_ROWS = 4;
export const PATCH_COUNT = CHART_COLUMNS * CHART_ROWS;

const PATCHES: ReadonlyArray<readonly [string, number, number, number]> = [
  ['dark skin', 37.54, 14.37, 14.92],
  ['light skin', 64.66, 19.27, 17.5],
  ['blue sky', 49.32, -3.82, -22.54],
  ['foliage', 43.46, -12.74, 22.72],
  ['blue flower', 54.94, 9.61, -24.79],
  ['bluish green', 70.48, -32.26, -0.37],
  ['orange', 62.73, 35.83, 56.5],
  ['purplish blue', 39.43, 10.75, -45.17],
  ['moderate red', 50.57, 48.64, 16.67],
  ['purple', 30.1, 22.54, -20.87],
  ['yellow green', 71.77, -24.13, 58.19],
  ['orange yellow', 71.51, 18.24, 67.37],
  ['blue', 28.37, 15.42, -49.8],
  ['green', 54.38, -39.72, 32.27],
  ['red', 42.43, 51.05, 28.62],
  ['yellow', 81.8, 2.67, 80.41],
  ['magenta', 50.63, 51.28, -14.12],
  ['cyan', 49.57, -29.71, -28.32],
  ['white 9.5', 95.19, -1.03, 2.93],
  ['neutral 8', 81.29, -0.57, 0.44],
  ['neutral 6.5', 66.89, -0.75, -0.06],
  ['neutral 5', 50.76, -0.13, 0.14],
  ['neutral 3.5', 35.63, -0.46, -0.48],
  ['black 2', 20.64, 0.07, -0.46],
];

/** Indices of the grey ramp, white first. */
export const NEUTRAL_PATCHES = [18, 19, 20, 21, 22, 23] as const;

export const PATCH_NAMES: readonly string[] = PATCHES.map(([name]) => name);

/** The published values (CIELAB D50). */
export const REFERENCE_LAB: readonly Lab[] = PATCHES.map(([, l, a, b]) => ({ mode: 'lab', l, a, b }));

export type Rgb = [number, number, number];

const toLinear = converter('lrgb');
/**
 * Linear sRGB (D65) of each patch, unclamped: the cyan patch lies just outside sRGB (red < 0),
 * and the solver fits to the true value, not a clipped one.
 */
export const REFERENCE_LINEAR: readonly Rgb[] = REFERENCE_LAB.map((lab) => {
  const c = toLinear(lab);
  return [c.r, c.g, c.b];
});
