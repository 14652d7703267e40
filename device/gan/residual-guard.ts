/**
 * What the device lets a GAN refinement change, enforced on the model's residual before it is
 * pasted (any model the fleet delivers, not only one trained to behave):
 *
 * 1. Reach: nothing beyond the paste weight (a few crop pixels past the makeup).
 * 2. Drawn light stays: where the finish puts light (gloss and satin highlights, shimmer and
 *    holographic glints: a bright spot of the made-up surface over its surroundings, see
 *    drawnLight) the residual is zeroed. A GAN trained against bare skin learns that
 *    real skin has no glitter and would tone it down; the shopper chose that finish.
 * 3. Colour stays: the low-frequency part of the residual is removed (the residual is made
 *    orthogonal to the 5x5 box blur the colour is judged under: `rounds` masked high-passes),
 *    and if the blurred colour still moves (clipping at 0/255 adds its own low frequency), the
 *    residual is scaled down until the mean CIEDE2000 between the blurred refined crop and the
 *    blurred render inside the regions is at most `maxDeltaE`. The colour the shopper picked is
 *    the render's; the GAN may add texture, light and edges, not a shade.
 *
 * Crop space throughout: RGB bytes size² x 3, coverage 0..1 size², residual in 8-bit levels.
 */

/** sRGB level to linear light, tabulated in 1/25-level steps (a 5x5 box mean of bytes lands on them). */
const LINEAR = Float64Array.from({ length: 255 * 25 + 1 }, (_, k) => {
  const c = k / 25 / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
const linear = (v: number) => LINEAR[Math.round(Math.min(255, Math.max(0, v)) * 25)];

/** sRGB byte-scale (0..255, fractional after the blur) to CIELAB D65. */
function toLab(r: number, g: number, b: number, out: Float64Array, o: number): void {
  const R = linear(r);
  const G = linear(g);
  const B = linear(b);
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116);
  const fx = f((0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047);
  const fy = f(0.2126729 * R + 0.7151522 * G + 0.072175 * B);
  const fz = f((0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

const pow7 = (x: number) => {
  const x2 = x * x;
  return x2 * x2 * x2 * x;
};

const RAD = Math.PI / 180;
const P25_7 = 25 ** 7;

/** CIEDE2000 (Sharma, Wu, Dalal 2005; kL = kC = kH = 1). The quality report checks it with culori. */
export function ciede2000(L1: number, a1: number, b1: number, L2: number, a2: number, b2: number): number {
  const C1 = Math.sqrt(a1 * a1 + b1 * b1);
  const C2 = Math.sqrt(a2 * a2 + b2 * b2);
  const Cm7 = pow7((C1 + C2) / 2);
  const G = 0.5 * (1 - Math.sqrt(Cm7 / (Cm7 + P25_7)));
  const a1p = a1 * (1 + G);
  const a2p = a2 * (1 + G);
  const C1p = Math.sqrt(a1p * a1p + b1 * b1);
  const C2p = Math.sqrt(a2p * a2p + b2 * b2);
  const hue = (b: number, a: number) => {
    if (a === 0 && b === 0) return 0;
    const h = Math.atan2(b, a) / RAD;
    return h < 0 ? h + 360 : h;
  };
  const h1p = hue(b1, a1p);
  const h2p = hue(b2, a2p);
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
  const SL = 1 + (0.015 * (Lmp - 50) ** 2) / Math.sqrt(20 + (Lmp - 50) ** 2);
  const SC = 1 + 0.045 * Cmp;
  const SH = 1 + 0.015 * Cmp * T;
  const RT = -Math.sin(2 * dTheta * RAD) * RC;
  const l = dLp / SL;
  const c = dCp / SC;
  const h = dHp / SH;
  return Math.sqrt(l * l + c * c + h * h + RT * c * h);
}

export interface GuardOptions {
  /** Bound on the mean blurred CIEDE2000 to the render inside the regions (issue 20: 3). */
  maxDeltaE: number;
  /** Masked high-pass rounds (each removes more of the residual's low frequency). */
  rounds: number;
  /** A rise of the makeup layer's luminance over its mean nearby, in levels, that counts as drawn light. */
  lightLevels: number;
}

/** Margin under issue 20's bound of 3: rounding to bytes and the paste's resampling move colour a little. */
export const DEFAULT_GUARD: GuardOptions = { maxDeltaE: 2.5, rounds: 1, lightLevels: 3 };

export interface GuardResult {
  residual: Float32Array;
  /** Pixels where drawn light was kept from the refinement. */
  lightPixels: number;
  /** Mean blurred CIEDE2000 to the render inside the regions, after the guard. */
  deltaE: number;
  /** Factor the residual was scaled by to meet maxDeltaE (1 = not needed). */
  scale: number;
}

/** Box mean of radius r (edge windows shrink) of one plane, through `tmp`. */
function boxMean(src: Float32Array, size: number, r: number, out: Float32Array, tmp: Float32Array): void {
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(size - 1, x + r);
      for (let k = x0; k <= x1; k++) s += src[y * size + k];
      tmp[y * size + x] = s / (x1 - x0 + 1);
    }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      const y0 = Math.max(0, y - r);
      const y1 = Math.min(size - 1, y + r);
      for (let k = y0; k <= y1; k++) s += tmp[k * size + x];
      out[y * size + x] = s / (y1 - y0 + 1);
    }
}

/** The 5x5 box the colour is judged under (models/gan/quality.ts meanDeltaE). */
const box5 = (src: Float32Array, size: number, out: Float32Array, tmp: Float32Array) => boxMean(src, size, 2, out, tmp);

const luma = (img: ArrayLike<number>, i: number) => 0.299 * img[i * 3] + 0.587 * img[i * 3 + 1] + 0.114 * img[i * 3 + 2];

/**
 * Where the finish puts light: pixels fully inside the region (coverage 1: not the feathered edge)
 * where the rendered surface is brighter by more than `levels` than its mean across the fully
 * covered pixels nearby (15x15 window, so a flat product and its own boundary make no rise),
 * widened by 1 px to take a glint's rim. Gloss lobes, satin sheen, glints, and the lips' own shine
 * that a gloss keeps. (Not eroded further: lips are about 10 px tall in a 128 px crop, and an
 * erosion of 2 px left the refinement free to dull half a gloss; measured in tests/gan.)
 */
export function drawnLight(render: Uint8Array, coverage: Float32Array, size: number, levels: number): Uint8Array {
  const n = size * size;
  const inMask = new Float32Array(n);
  const layer = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    inMask[i] = coverage[i] >= 0.99 ? 1 : 0;
    layer[i] = luma(render, i) * inMask[i];
  }
  const tmp = new Float32Array(n);
  const sum = new Float32Array(n);
  const weight = new Float32Array(n);
  boxMean(layer, size, 7, sum, tmp);
  boxMean(inMask, size, 7, weight, tmp);
  const seed = new Uint8Array(n);
  for (let i = 0; i < n; i++) seed[i] = inMask[i] && layer[i] - sum[i] / weight[i] > levels ? 1 : 0;
  const out = new Uint8Array(n);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      if (!seed[y * size + x]) continue;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < size && xx >= 0 && xx < size) out[yy * size + xx] = 1;
        }
    }
  return out;
}

/** Blurred render and blurred refined crop (render + s·residual, clipped to bytes), per channel. */
function blurredRefined(render: Uint8Array, residual: Float32Array, s: number, size: number, planes: Float32Array[], tmp: Float32Array): void {
  const n = size * size;
  const ch = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) ch[i] = Math.min(255, Math.max(0, Math.round(render[i * 3 + c] + s * residual[i * 3 + c])));
    box5(ch, size, planes[c], tmp);
  }
}

/** Mean CIEDE2000 of `a` (blurred planes) to `labB` (Lab of the blurred render) over `inside`. */
function meanDeltaE(a: Float32Array[], labB: Float64Array, inside: Uint8Array): number {
  const lab = new Float64Array(3);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < inside.length; i++) {
    if (!inside[i]) continue;
    toLab(a[0][i], a[1][i], a[2][i], lab, 0);
    sum += ciede2000(lab[0], lab[1], lab[2], labB[i * 3], labB[i * 3 + 1], labB[i * 3 + 2]);
    count++;
  }
  return count ? sum / count : 0;
}

/**
 * The residual the device may paste (a new array): reach, drawn light and colour enforced as the
 * header says. `weight` is the paste weight (device/gan/coverage.ts pasteWeight).
 */
export function guardResidual(
  residual: Float32Array,
  render: Uint8Array,
  coverage: Float32Array,
  weight: Float32Array,
  size: number,
  opts: GuardOptions = DEFAULT_GUARD,
): GuardResult {
  const n = size * size;
  const light = drawnLight(render, coverage, size, opts.lightLevels);
  const allowed = new Uint8Array(n);
  let lightPixels = 0;
  for (let i = 0; i < n; i++) {
    allowed[i] = weight[i] > 0 && !light[i] ? 1 : 0;
    lightPixels += light[i];
  }
  const out = new Float32Array(n * 3);
  const plane = new Float32Array(n);
  const low = new Float32Array(n);
  const tmp = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) plane[i] = allowed[i] ? residual[i * 3 + c] : 0;
    for (let r = 0; r < opts.rounds; r++) {
      box5(plane, size, low, tmp);
      for (let i = 0; i < n; i++) plane[i] = allowed[i] ? plane[i] - low[i] : 0;
    }
    for (let i = 0; i < n; i++) out[i * 3 + c] = plane[i];
  }

  // The colour check, judged as the quality report judges it: blurred crops, inside the regions.
  const inside = new Uint8Array(n);
  for (let i = 0; i < n; i++) inside[i] = coverage[i] >= 0.5 ? 1 : 0;
  const base = [0, 1, 2].map(() => new Float32Array(n));
  blurredRefined(render, out, 0, size, base, tmp);
  const labBase = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) if (inside[i]) toLab(base[0][i], base[1][i], base[2][i], labBase, i * 3);
  const refined = [0, 1, 2].map(() => new Float32Array(n));
  let scale = 1;
  let deltaE = 0;
  // ΔE grows about linearly with the residual's size: scale by the ratio, re-check (a few rounds at most).
  for (let k = 0; k < 4; k++) {
    blurredRefined(render, out, scale, size, refined, tmp);
    deltaE = meanDeltaE(refined, labBase, inside);
    if (deltaE <= opts.maxDeltaE) break;
    scale *= k < 3 ? (0.95 * opts.maxDeltaE) / deltaE : 0;
  }
  if (scale < 1) {
    for (let i = 0; i < out.length; i++) out[i] *= scale;
    if (scale === 0) deltaE = 0;
  }
  return { residual: out, lightPixels, deltaE, scale };
}
