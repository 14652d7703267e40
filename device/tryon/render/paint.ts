/**
 * The shared perceptual blend: a shade laid on skin or lips so that the surface's own light stays.
 *
 * In linear light, each pixel's luminance detail ratio d = Y / Ȳ (Ȳ: the region's coverage-weighted
 * mean) carries the shading, pores and lip lines; the product's colour takes the shade's chroma and
 * hue, and its luminance is the shade's luminance × d shaped by the material (material.ts): matte
 * flattens the highlights, metallic deepens the shading, sheer lets the surface's own colour
 * variation through, gloss/metallic/satin add a specular term that follows the face's own light
 * (its direction, and the pixel's own brightness above the region so the shine sits where the
 * camera sees it). On a flat, evenly lit patch d = 1 and the product is the shade itself.
 * The result is composited by coverage (feathered mask × strength).
 *
 * Hot loops are hand-written (tests/tryon/render-lips-eyes-paint.test.ts checks them against
 * culori): one pass for the region's statistics, one for the blend, both inside the mask's rect;
 * per-call tables and scratch buffers instead of per-pixel allocation or Math.pow.
 */
import type { Frame } from '../../core/frame.ts';
import { SRGB_TO_LINEAR, linearToSrgb } from '../colour.ts';
import type { CoverageMask } from '../raster.ts';
import type { LightEstimate } from './renderer.ts';
import type { Material } from './material.ts';

export type Rgb = readonly [number, number, number];

export interface PaintLayer {
  /** The shade, linear RGB (colour.ts hexToLinear). */
  colour: Rgb;
  /** 0..1 at full coverage: the shade's opacity × the shopper's intensity. */
  strength: number;
  material: Readonly<Material>;
  /** Further colours laid over `colour` in order, each by its own weight (rect-sized, 0..1): ombre, two-tone, crease. */
  overlays?: ReadonlyArray<{ colour: Rgb; weight: Float32Array }>;
  /** Where the surface faces the viewer most (frame pixels), around which the highlight lobe sits; default: the rect's centre. */
  lobeCentre?: readonly [number, number];
}

/** Coverage below this is not painted (and not counted in the region's statistics). */
const MIN_COVERAGE = 0.003;
const TONE_STEPS = 4096;
/** The detail ratio is clamped so deep creases keep colour and speculars do not blow out. */
const MAX_TONE = 2.5;

const Y_R = 0.2126;
const Y_G = 0.7152;
const Y_B = 0.0722;

/** Per-frame scratch, grown as needed: the blend allocates nothing per pixel and little per call. */
let lumScratch = new Float32Array(0);
let detailScratch = new Float32Array(0);
let blurScratch = new Float32Array(0);
/** Blur radius (pixels) of the luminance the shine follows: fixed, so the highlight does not jump as the region's box changes size. */
const SHINE_RADIUS = 2;
const toneTable = new Float32Array(TONE_STEPS + 1);

export interface RegionStats {
  /** Coverage-weighted mean linear RGB and luminance of the region's own pixels. */
  r: number;
  g: number;
  b: number;
  y: number;
  /** Sum of coverage (pixels). */
  weight: number;
}

/** The region's own mean colour, before anything is painted on it. */
export function regionStats(frame: Frame, mask: CoverageMask): RegionStats {
  const { data, width } = frame;
  const { rect, alpha } = mask;
  let w = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let y = 0; y < rect.height; y++) {
    let p = ((rect.y + y) * width + rect.x) * 3;
    let i = y * rect.width;
    for (let x = 0; x < rect.width; x++, p += 3, i++) {
      const a = alpha[i];
      if (a <= MIN_COVERAGE) continue;
      r += a * SRGB_TO_LINEAR[data[p]];
      g += a * SRGB_TO_LINEAR[data[p + 1]];
      b += a * SRGB_TO_LINEAR[data[p + 2]];
      w += a;
    }
  }
  if (w <= 0) return { r: 0, g: 0, b: 0, y: 0, weight: 0 };
  r /= w;
  g /= w;
  b /= w;
  return { r, g, b, y: Y_R * r + Y_G * g + Y_B * b, weight: w };
}

/** Pixel luminance → the factor on the shade's luminance (the material's tone curve), tabulated for this region. */
function fillToneTable(meanY: number, material: Readonly<Material>): void {
  for (let i = 0; i <= TONE_STEPS; i++) {
    const d = i / TONE_STEPS / meanY;
    const shaped = d > 1 ? 1 + (d - 1) * material.highlights : d;
    toneTable[i] = Math.min(MAX_TONE, shaped ** material.detail);
  }
}

interface SpecularField {
  /** Separable directional lobe (where the surface faces the face's key light). */
  lobeX: Float32Array;
  lobeY: Float32Array;
  /** Luminance smoothed over a few pixels (so the shine does not follow sensor noise), rect-sized. */
  smooth: Float32Array;
  /** Linear RGB of the highlight at full strength. */
  rgb: Rgb;
}

/**
 * The rect's luminance (lumScratch) and the luminance the detail ratio is read from (detailScratch):
 * half the pixel, half its 3x3 neighbourhood, so the lips' lines and pores stay while a camera's
 * per-pixel noise is not passed on (amplified, under a shade lighter than the surface) as flicker.
 */
function luminanceOf(frame: Frame, mask: CoverageMask): void {
  const { rect } = mask;
  const n = rect.width * rect.height;
  if (lumScratch.length < n) {
    lumScratch = new Float32Array(n);
    detailScratch = new Float32Array(n);
    blurScratch = new Float32Array(n);
  }
  const { data, width } = frame;
  for (let y = 0; y < rect.height; y++) {
    let p = ((rect.y + y) * width + rect.x) * 3;
    for (let x = 0, i = y * rect.width; x < rect.width; x++, p += 3, i++)
      lumScratch[i] = Y_R * SRGB_TO_LINEAR[data[p]] + Y_G * SRGB_TO_LINEAR[data[p + 1]] + Y_B * SRGB_TO_LINEAR[data[p + 2]];
  }
  boxBlurInto(lumScratch, detailScratch, rect.width, rect.height, 1);
  for (let i = 0; i < n; i++) detailScratch[i] = 0.5 * (detailScratch[i] + lumScratch[i]);
}

function specularField(mask: CoverageMask, layer: PaintLayer, light: LightEstimate): SpecularField {
  const { rect } = mask;
  const m = layer.material;
  boxBlurInto(lumScratch, blurScratch, rect.width, rect.height, SHINE_RADIUS);
  // The lobe sits where the surface faces the viewer, moved towards the key light.
  const lobe = (size: number, at: number, shift: number): Float32Array => {
    const half = size / 2;
    const sigma = Math.max(1, half * m.specularSpread);
    const centre = at + shift * half * 0.3;
    return Float32Array.from({ length: size }, (_, k) => Math.exp(-0.5 * ((k + 0.5 - centre) / sigma) ** 2));
  };
  const [ax, ay] = layer.lobeCentre ? [layer.lobeCentre[0] - rect.x, layer.lobeCentre[1] - rect.y] : [rect.width / 2, rect.height / 2];
  const [cr, cg, cb] = layer.colour;
  const peak = Math.max(cr, cg, cb, 1e-4);
  // The shine a surface can show is what the key light puts above the face's diffuse level: none
  // under flat, even light (a flat patch gets no highlight), strong under a spot.
  const level = m.specular * Math.max(0, light.highlight - light.median);
  const tint = (c: number) => level * (1 - m.specularTint + (m.specularTint * c) / peak);
  return { lobeX: lobe(rect.width, ax, light.direction[0]), lobeY: lobe(rect.height, ay, light.direction[1]), smooth: blurScratch, rgb: [tint(cr), tint(cg), tint(cb)] };
}

/**
 * Paints `layer` into `frame` under `mask` (read-only: already gated by the caller or the context).
 * Returns false when the region has (almost) no coverage.
 */
export function paint(frame: Frame, mask: CoverageMask, layer: PaintLayer, light: LightEstimate, stats: RegionStats = regionStats(frame, mask)): boolean {
  if (stats.weight < 1 || layer.strength <= 0) return false;
  const meanY = Math.max(1e-4, stats.y);
  const m = layer.material;
  fillToneTable(meanY, m);
  luminanceOf(frame, mask);
  const spec = m.specular > 0 ? specularField(mask, layer, light) : null;
  const { data, width } = frame;
  const { rect, alpha } = mask;
  const overlays = layer.overlays ?? [];
  const through = m.through;
  const fromBright = m.specularFromBrightness;
  const invMean = 1 / meanY;
  for (let y = 0; y < rect.height; y++) {
    let p = ((rect.y + y) * width + rect.x) * 3;
    let i = y * rect.width;
    for (let x = 0; x < rect.width; x++, p += 3, i++) {
      const a = alpha[i] * layer.strength;
      if (a <= MIN_COVERAGE) continue;
      const r = SRGB_TO_LINEAR[data[p]];
      const g = SRGB_TO_LINEAR[data[p + 1]];
      const b = SRGB_TO_LINEAR[data[p + 2]];
      const lum = detailScratch[i];
      let cr = layer.colour[0];
      let cg = layer.colour[1];
      let cb = layer.colour[2];
      for (let k = 0; k < overlays.length; k++) {
        const o = overlays[k];
        const w = o.weight[i];
        cr += w * (o.colour[0] - cr);
        cg += w * (o.colour[1] - cg);
        cb += w * (o.colour[2] - cb);
      }
      const tone = toneTable[Math.round(Math.min(1, lum) * TONE_STEPS)];
      let tr = cr * tone;
      let tg = cg * tone;
      let tb = cb * tone;
      if (through > 0) {
        // The surface's own chroma around its mean, at this pixel's brightness.
        const d = lum * invMean;
        tr += through * (r - stats.r * d);
        tg += through * (g - stats.g * d);
        tb += through * (b - stats.b * d);
      }
      if (spec) {
        const bright = Math.min(1, Math.max(0, (spec.smooth[i] * invMean - 1) / 0.6));
        const s = spec.lobeX[x] * spec.lobeY[y] * (1 - fromBright + fromBright * (0.2 + 0.8 * bright * bright * (3 - 2 * bright)));
        tr += s * spec.rgb[0];
        tg += s * spec.rgb[1];
        tb += s * spec.rgb[2];
      }
      data[p] = linearToSrgb(r + a * (tr - r));
      data[p + 1] = linearToSrgb(g + a * (tg - g));
      data[p + 2] = linearToSrgb(b + a * (tb - b));
    }
  }
  return true;
}

/** Separable box blur of `src` into `out` (rect-sized), clamped at the edges. */
function boxBlurInto(src: Float32Array, out: Float32Array, width: number, height: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let sum = 0;
    for (let x = -r; x <= r; x++) sum += src[base + Math.min(width - 1, Math.max(0, x))];
    for (let x = 0; x < width; x++) {
      out[base + x] = sum * norm;
      sum += src[base + Math.min(width - 1, x + r + 1)] - src[base + Math.max(0, x - r)];
    }
  }
  // Vertical pass in place through one column buffer.
  const column = new Float32Array(height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) column[y] = out[y * width + x];
    let sum = 0;
    for (let y = -r; y <= r; y++) sum += column[Math.min(height - 1, Math.max(0, y))];
    for (let y = 0; y < height; y++) {
      out[y * width + x] = sum * norm;
      sum += column[Math.min(height - 1, y + r + 1)] - column[Math.max(0, y - r)];
    }
  }
}
