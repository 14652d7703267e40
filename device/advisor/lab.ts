/**
 * sRGB code values → CIELAB (D65, culori's `lab65`) for the advisor's per-pixel loops: a library
 * call per pixel would cost more than the whole analysis budget, so srgbToLab is the device's one
 * numeric colour module's (device/core/cielab.ts: culori's formula, checked against culori in
 * tests/gan/cielab.test.ts), re-exported here.
 */
import { LAB_E as E, LAB_K as K, XN, ZN } from '../core/cielab.ts';

export type Lab = [number, number, number];

/** Writes CIELAB of one sRGB pixel into `out` (no allocation in the loop): the device's one colour module. */
export { srgbToLab } from '../core/cielab.ts';

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

/** Linear-light sRGB → CIELAB (D65) without an 8-bit step (white-balanced colours are not code values). */
export function linearToLab(rgb: readonly [number, number, number]): Lab {
  const [lr, lg, lb] = rgb;
  const x = 0.4123907992659593 * lr + 0.357584339383878 * lg + 0.1804807884018343 * lb;
  const y = 0.2126390058715102 * lr + 0.715168678767756 * lg + 0.0721923153607337 * lb;
  const z = 0.0193308187155918 * lr + 0.119194779794626 * lg + 0.9505321522496607 * lb;
  const f = (v: number) => (v > E ? Math.cbrt(v) : (K * v + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x / XN) - f(y)), 200 * (f(y) - f(z / ZN))];
}
