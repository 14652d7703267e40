/**
 * sRGB code values → CIELAB (D65, culori's `lab65`) for the advisor's per-pixel loops: a library
 * call per pixel would cost more than the whole analysis budget, so this is culori's own formula
 * (sRGB decode table from device/tryon/colour.ts, culori's sRGB→XYZ D65 matrix and Lab f()),
 * checked against culori in tests/advisor/lab.test.ts.
 */
import { SRGB_TO_LINEAR } from '../tryon/colour.ts';

export type Lab = [number, number, number];

// culori src/constants.js D65 white and src/xyz65/convertRgbToXyz65.js.
const XN = 0.3127 / 0.329;
const ZN = (1 - 0.3127 - 0.329) / 0.329;
const E = 216 / 24389;
const K = 24389 / 27;
const f = (v: number): number => (v > E ? Math.cbrt(v) : (K * v + 16) / 116);

/** Writes CIELAB of one 8-bit sRGB pixel into `out` (no allocation in the loop). */
export function srgbToLab(r: number, g: number, b: number, out: Lab): Lab {
  const lr = SRGB_TO_LINEAR[r];
  const lg = SRGB_TO_LINEAR[g];
  const lb = SRGB_TO_LINEAR[b];
  const x = 0.4123907992659593 * lr + 0.357584339383878 * lg + 0.1804807884018343 * lb;
  const y = 0.2126390058715102 * lr + 0.715168678767756 * lg + 0.0721923153607337 * lb;
  const z = 0.0193308187155918 * lr + 0.119194779794626 * lg + 0.9505321522496607 * lb;
  const fx = f(x / XN);
  const fy = f(y);
  const fz = f(z / ZN);
  out[0] = 116 * fy - 16;
  out[1] = 500 * (fx - fy);
  out[2] = 200 * (fy - fz);
  return out;
}

/** CIELAB (D65) → linear-light sRGB (0..1, unclipped): the inverse of srgbToLab before its 8-bit decode. */
export function labToLinear(lab: Readonly<Lab>): [number, number, number] {
  const fy = (lab[0] + 16) / 116;
  const fx = fy + lab[1] / 500;
  const fz = fy - lab[2] / 200;
  const inv = (t: number): number => (t ** 3 > E ? t ** 3 : (116 * t - 16) / K);
  const x = inv(fx) * XN;
  const y = inv(fy);
  const z = inv(fz) * ZN;
  // The inverse of the sRGB→XYZ matrix above.
  return [
    3.2409699419045226 * x - 1.537383177570094 * y - 0.4986107602930034 * z,
    -0.9692436362808796 * x + 1.8759675015077202 * y + 0.04155505740717559 * z,
    0.05563007969699366 * x - 0.20397695888897652 * y + 1.0569715142428786 * z,
  ];
}
