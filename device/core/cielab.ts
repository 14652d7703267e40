/**
 * The device's one numeric colour module: sRGB → CIELAB (D65, culori's `lab65`) and CIEDE2000, for
 * per-pixel loops (the advisor's skin reading, the GAN stage's colour guard) where a library call
 * and its objects per pixel would cost more than the loop's whole budget.
 *
 * - srgbToLab takes sRGB code values on the 0..255 scale, fractional ones included (a box mean of
 *   bytes), writes into `out` at `offset` and allocates nothing. The sRGB decode is a table over
 *   1/64-level steps, interpolated (integer input reads the table's exact entries); the matrix and
 *   Lab f() are culori's (src/xyz65/convertRgbToXyz65.js, src/constants.js D65 white).
 * - deltaE2000 is Sharma, Wu and Dalal's CIEDE2000 (2005; kL = kC = kH = 1) on six numbers.
 * Both are checked against culori in tests/gan/cielab.test.ts.
 */

/** Steps per 8-bit level of the sRGB decode table. */
const STEPS = 64;
const DECODE = Float64Array.from({ length: 255 * STEPS + 2 }, (_, k) => {
  const c = Math.min(255, k / STEPS) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** sRGB code value (0..255, fractional allowed, clamped) → linear light 0..1. */
export function srgbLevelToLinear(v: number): number {
  const t = (v <= 0 ? 0 : v >= 255 ? 255 : v) * STEPS;
  const i = t | 0;
  const w = t - i;
  return w === 0 ? DECODE[i] : DECODE[i] + w * (DECODE[i + 1] - DECODE[i]);
}

// culori src/constants.js D65 white.
export const XN = 0.3127 / 0.329;
export const ZN = (1 - 0.3127 - 0.329) / 0.329;
export const LAB_E = 216 / 24389;
export const LAB_K = 24389 / 27;
const f = (v: number): number => (v > LAB_E ? Math.cbrt(v) : (LAB_K * v + 16) / 116);

/** CIELAB of linear-light sRGB (0..1) into out[offset..offset+2]. */
export function linearToLab<T extends { [i: number]: number }>(lr: number, lg: number, lb: number, out: T, offset = 0): T {
  const x = 0.4123907992659593 * lr + 0.357584339383878 * lg + 0.1804807884018343 * lb;
  const y = 0.2126390058715102 * lr + 0.715168678767756 * lg + 0.0721923153607337 * lb;
  const z = 0.0193308187155918 * lr + 0.119194779794626 * lg + 0.9505321522496607 * lb;
  const fx = f(x / XN);
  const fy = f(y);
  const fz = f(z / ZN);
  out[offset] = 116 * fy - 16;
  out[offset + 1] = 500 * (fx - fy);
  out[offset + 2] = 200 * (fy - fz);
  return out;
}

/** CIELAB of one sRGB pixel (code values 0..255, fractional allowed) into out[offset..offset+2]. */
export function srgbToLab<T extends { [i: number]: number }>(r: number, g: number, b: number, out: T, offset = 0): T {
  return linearToLab(srgbLevelToLinear(r), srgbLevelToLinear(g), srgbLevelToLinear(b), out, offset);
}

const pow7 = (x: number) => {
  const x2 = x * x;
  return x2 * x2 * x2 * x;
};
const RAD = Math.PI / 180;
const P25_7 = 25 ** 7;

/** CIEDE2000 between two CIELAB colours (Sharma, Wu, Dalal 2005; kL = kC = kH = 1). */
export function deltaE2000(L1: number, a1: number, b1: number, L2: number, a2: number, b2: number): number {
  const C1 = Math.sqrt(a1 * a1 + b1 * b1);
  const C2 = Math.sqrt(a2 * a2 + b2 * b2);
  const Cm7 = pow7((C1 + C2) / 2);
  const G = 0.5 * (1 - Math.sqrt(Cm7 / (Cm7 + P25_7)));
  const a1p = a1 * (1 + G);
  const a2p = a2 * (1 + G);
  const C1p = Math.sqrt(a1p * a1p + b1 * b1);
  const C2p = Math.sqrt(a2p * a2p + b2 * b2);
  const h1p = a1p === 0 && b1 === 0 ? 0 : hueDeg(b1, a1p);
  const h2p = a2p === 0 && b2 === 0 ? 0 : hueDeg(b2, a2p);
  const dLp = L2 - L1;
  const dCp = C2p - C1p;
  let dhp = 0;
  if (C1p * C2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(C1p * C2p) * Math.sin((dhp / 2) * RAD);
  const Lmp = (L1 + L2) / 2;
  const Cmp = (C1p + C2p) / 2;
  let hmp = h1p + h2p;
  if (C1p * C2p !== 0) {
    if (Math.abs(h1p - h2p) <= 180) hmp /= 2;
    else hmp = h1p + h2p < 360 ? (hmp + 360) / 2 : (hmp - 360) / 2;
  }
  const T = 1 - 0.17 * Math.cos((hmp - 30) * RAD) + 0.24 * Math.cos(2 * hmp * RAD) + 0.32 * Math.cos((3 * hmp + 6) * RAD) - 0.2 * Math.cos((4 * hmp - 63) * RAD);
  const dTheta = 30 * Math.exp(-(((hmp - 275) / 25) ** 2));
  const Cmp7 = pow7(Cmp);
  const RC = 2 * Math.sqrt(Cmp7 / (Cmp7 + P25_7));
  const L50 = (Lmp - 50) * (Lmp - 50);
  const SL = 1 + (0.015 * L50) / Math.sqrt(20 + L50);
  const SC = 1 + 0.045 * Cmp;
  const SH = 1 + 0.015 * Cmp * T;
  const RT = -Math.sin(2 * dTheta * RAD) * RC;
  const l = dLp / SL;
  const c = dCp / SC;
  const h = dHp / SH;
  return Math.sqrt(l * l + c * c + h * h + RT * c * h);
}

function hueDeg(b: number, a: number): number {
  const h = Math.atan2(b, a) / RAD;
  return h < 0 ? h + 360 : h;
}
