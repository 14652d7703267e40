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
 * culori): one pass for the region's statistics and the luminance's row sums, one for the blend, both
 * inside the mask's covered window (paintWindow), not its whole rect; the 3x3 and 5x5 means are
 * summed from the row sums at the painted pixels only (no blur over the whole window); tone tables
 * cached per material, scratch buffers reused across frames, table look-ups instead of Math.pow or
 * Math.round in the per-pixel loop.
 */
import type { Frame } from '../../core/frame.ts';
import * as colour from '../colour.ts';
import { coverageSpans, type CoverageMask, type MaskRect, type Span } from '../raster.ts';
import type { LightEstimate } from './renderer.ts';
import type { Material } from './material.ts';
import type { DrawnLight } from './drawn-light.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;
const LINEAR_TO_SRGB = colour.LINEAR_TO_SRGB;
const LINEAR_STEPS = colour.LINEAR_STEPS;

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
/** The tone curve is tabulated over the detail ratio d = Y / Ȳ in 0..D_MAX (past it: its value at D_MAX). */
const D_MAX = 16;
export const TONE_STEPS = 16384;
export const TONE_SCALE = TONE_STEPS / D_MAX;
/** The detail ratio is clamped so deep creases keep colour and speculars do not blow out. */
const MAX_TONE = 2.5;

const Y_R = 0.2126;
const Y_G = 0.7152;
const Y_B = 0.0722;

/** Blur radius (pixels) of the luminance the shine follows: fixed, so the highlight does not jump as the region's box changes size. */
const SHINE_RADIUS = 2;

/**
 * Scratch reused across calls and frames, grown as needed: the blend allocates nothing per pixel and
 * nothing per call once the largest region has been seen. The luminance planes are window-sized
 * (see Window), the spans and lobes rect-sized. One per renderer instance (each try-on stage owns
 * one and hands it to its renderers through the RenderContext): no state is shared between stages.
 */
export interface PaintScratch {
  lum: Float32Array;
  /** Horizontal 3- and 5-sums of `lum` per row (window-sized). */
  rows3: Float32Array;
  rows5: Float32Array;
  lobeX: Float32Array;
  lobeY: Float32Array;
  lo: Int32Array;
  hi: Int32Array;
}

export const newPaintScratch = (): PaintScratch => ({
  lum: new Float32Array(0),
  rows3: new Float32Array(0),
  rows5: new Float32Array(0),
  lobeX: new Float32Array(0),
  lobeY: new Float32Array(0),
  lo: new Int32Array(0),
  hi: new Int32Array(0),
});

function ensureScratch(scratch: PaintScratch, n: number, w: number, h: number): void {
  if (scratch.lum.length < n) {
    scratch.lum = new Float32Array(n);
    scratch.rows3 = new Float32Array(n);
    scratch.rows5 = new Float32Array(n);
  }
  if (scratch.lobeX.length < w) scratch.lobeX = new Float32Array(w);
  if (scratch.lobeY.length < h) {
    scratch.lobeY = new Float32Array(h);
    scratch.lo = new Int32Array(h);
    scratch.hi = new Int32Array(h);
  }
}

/**
 * Where a paint call works, in the mask's rect: the box of its covered spans (scratch.lo/hi per row,
 * coverage above MIN_COVERAGE: every pixel the statistics count or the blend may touch), grown by
 * the widest blur read around a painted pixel (SHINE_RADIUS) and kept inside the rect. A feathered
 * region's rect is mostly its empty surround (the feather's reach, its corners); the luminance and
 * its blurs are computed over the window only. Inside the covered box the blurs read the same
 * pixels as over the whole rect (the margin is the blur's radius), so the painted result is the same.
 */
interface Window {
  covered: Span;
  x0: number;
  y0: number;
  width: number;
  height: number;
}

function paintWindow(scratch: PaintScratch, mask: CoverageMask): Window | null {
  const { width, height } = mask.rect;
  ensureScratch(scratch, 0, width, height);
  const covered = coverageSpans(mask, MIN_COVERAGE, scratch.lo, scratch.hi);
  if (!covered) return null;
  const x0 = Math.max(0, covered.x0 - SHINE_RADIUS);
  const y0 = Math.max(0, covered.y0 - SHINE_RADIUS);
  const x1 = Math.min(width, covered.x1 + SHINE_RADIUS);
  const y1 = Math.min(height, covered.y1 + SHINE_RADIUS);
  return { covered, x0, y0, width: x1 - x0, height: y1 - y0 };
}

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

/**
 * Detail ratio d = Y / Ȳ → the factor on the shade's luminance (the material's tone curve). It does
 * not depend on the region, so it is built once per material object and kept.
 */
const toneTables = new WeakMap<Readonly<Material>, Float32Array>();

export function toneTable(material: Readonly<Material>): Float32Array {
  let table = toneTables.get(material);
  if (!table) {
    table = new Float32Array(TONE_STEPS + 1);
    for (let i = 0; i <= TONE_STEPS; i++) {
      const d = i / TONE_SCALE;
      const shaped = d > 1 ? 1 + (d - 1) * material.highlights : d;
      table[i] = Math.min(MAX_TONE, shaped ** material.detail);
    }
    toneTables.set(material, table);
  }
  return table;
}

/**
 * One pass over the window: the pixels' luminance (scratch.lum) and the region's statistics over
 * its covered spans; then, per row, the luminance's horizontal 3-sums (scratch.rows3) and, when a
 * specular term needs them, 5-sums (scratch.rows5), clamped at the window's edges. The blend adds
 * the rows' sums vertically at the pixels it paints only (the 3x3 and 5x5 means), not over the
 * whole window. The detail ratio is read from half the pixel, half its 3x3 neighbourhood, so the
 * lips' lines and pores stay while a camera's per-pixel noise is not passed on (amplified, under a
 * shade lighter than the surface) as flicker.
 */
function luminanceAndStats(scratch: PaintScratch, frame: Frame, mask: CoverageMask, win: Window, wide: boolean): RegionStats {
  const { rect, alpha } = mask;
  ensureScratch(scratch, win.width * win.height, rect.width, rect.height);
  const { lum, rows3: h3, rows5: h5, lo, hi } = scratch;
  const { data, width } = frame;
  const ww = win.width;
  let w = 0;
  let sr = 0;
  let sg = 0;
  let sb = 0;
  for (let y = 0; y < win.height; y++) {
    const ry = win.y0 + y;
    let p = ((rect.y + ry) * width + rect.x + win.x0) * 3;
    const a0 = lo[ry];
    const a1 = hi[ry];
    const row = y * ww;
    for (let x = 0, i = row, m = ry * rect.width + win.x0; x < ww; x++, p += 3, i++, m++) {
      const r = SRGB_TO_LINEAR[data[p]];
      const g = SRGB_TO_LINEAR[data[p + 1]];
      const b = SRGB_TO_LINEAR[data[p + 2]];
      lum[i] = Y_R * r + Y_G * g + Y_B * b;
      const rx = win.x0 + x;
      if (rx < a0 || rx >= a1) continue;
      const a = alpha[m];
      if (a <= MIN_COVERAGE) continue;
      sr += a * r;
      sg += a * g;
      sb += a * b;
      w += a;
    }
    rowSums(lum, h3, row, ww, 1);
    if (wide) rowSums(lum, h5, row, ww, SHINE_RADIUS);
  }
  if (w <= 0) return { r: 0, g: 0, b: 0, y: 0, weight: 0 };
  sr /= w;
  sg /= w;
  sb /= w;
  return { r: sr, g: sg, b: sb, y: Y_R * sr + Y_G * sg + Y_B * sb, weight: w };
}

/**
 * out[row + x] = the sum of src over columns x-r..x+r of the row (n wide), indices clamped to the
 * row, summed left to right from 0. Only the columns within r of an end clamp; the middle ones add
 * the same values in the same order without the tests.
 */
function rowSums(src: Float32Array, out: Float32Array, row: number, n: number, r: number): void {
  const last = row + n - 1;
  const a = Math.min(r, n);
  const b = Math.max(a, n - r);
  for (let x = 0; x < a; x++) out[row + x] = clampedSum(src, row, last, row + x, r);
  if (r === 1) for (let k = row + a; k < row + b; k++) out[k] = 0 + src[k - 1] + src[k] + src[k + 1];
  else if (r === 2) for (let k = row + a; k < row + b; k++) out[k] = 0 + src[k - 2] + src[k - 1] + src[k] + src[k + 1] + src[k + 2];
  else for (let x = a; x < b; x++) out[row + x] = clampedSum(src, row, last, row + x, r);
  for (let x = b; x < n; x++) out[row + x] = clampedSum(src, row, last, row + x, r);
}

/** src[at-r..at+r] summed from 0, each index clamped to row..last. */
function clampedSum(src: Float32Array, row: number, last: number, at: number, r: number): number {
  let s = 0;
  for (let d = -r; d <= r; d++) {
    const k = at + d;
    s += src[k < row ? row : k > last ? last : k];
  }
  return s;
}

interface SpecularField {
  /** Separable directional lobe (where the surface faces the face's key light). */
  lobeX: Float32Array;
  lobeY: Float32Array;
  /** Row sums of the luminance over 2·SHINE_RADIUS+1 columns (window-sized): added over as many rows, its mean over a few pixels (the shine does not follow sensor noise). */
  rowSums: Float32Array;
  /** Linear RGB of the highlight at full strength. */
  rgb: Rgb;
}

/** A Gaussian profile over `size` cells into `out`: exp(k · (i + 0.5 − centre)²). */
function lobe(out: Float32Array, size: number, centre: number, k: number): Float32Array {
  for (let i = 0; i < size; i++) {
    const d = i + 0.5 - centre;
    out[i] = Math.exp(k * d * d);
  }
  return out;
}

/**
 * The finish's directional highlight over a rect (rect-relative pixels): a separable Gaussian lobe,
 * exp(kx·(x − cx)²) · exp(ky·(y − cy)²), and its linear RGB at full strength. The lobe sits where
 * the surface faces the viewer (`layer.lobeCentre`, else the rect's centre), moved towards the key light.
 */
export interface SpecularShape {
  cx: number;
  cy: number;
  kx: number;
  ky: number;
  rgb: Rgb;
}

export function specularShape(rect: MaskRect, layer: PaintLayer, light: LightEstimate): SpecularShape {
  const m = layer.material;
  const [ax, ay] = layer.lobeCentre ? [layer.lobeCentre[0] - rect.x, layer.lobeCentre[1] - rect.y] : [rect.width / 2, rect.height / 2];
  const half = (size: number) => size / 2;
  const k = (size: number) => {
    const sigma = Math.max(1, half(size) * m.specularSpread);
    return -0.5 / (sigma * sigma);
  };
  const [cr, cg, cb] = layer.colour;
  const peak = Math.max(cr, cg, cb, 1e-4);
  // The shine a surface can show is what the key light puts above the face's diffuse level: none
  // under flat, even light (a flat patch gets no highlight), strong under a spot.
  const level = m.specular * Math.max(0, light.highlight - light.median);
  const tint = (c: number) => level * (1 - m.specularTint + (m.specularTint * c) / peak);
  return {
    cx: ax + light.direction[0] * half(rect.width) * 0.3,
    cy: ay + light.direction[1] * half(rect.height) * 0.3,
    kx: k(rect.width),
    ky: k(rect.height),
    rgb: [tint(cr), tint(cg), tint(cb)],
  };
}

/** How much of the lobe a pixel shows, from its smoothed luminance over the region's mean (`relative`): the shine sits where the camera sees it. */
export function shineAt(material: Readonly<Material>, relative: number): number {
  const v = (relative - 1) / 0.6;
  const bright = v <= 0 ? 0 : v >= 1 ? 1 : v;
  const fromBright = material.specularFromBrightness;
  return 1 - fromBright + fromBright * (0.2 + 0.8 * bright * bright * (3 - 2 * bright));
}

function specularField(scratch: PaintScratch, mask: CoverageMask, layer: PaintLayer, light: LightEstimate): SpecularField {
  const { rect } = mask;
  const shape = specularShape(rect, layer, light);
  return {
    lobeX: lobe(scratch.lobeX, rect.width, shape.cx, shape.kx),
    lobeY: lobe(scratch.lobeY, rect.height, shape.cy, shape.ky),
    rowSums: scratch.rows5,
    rgb: shape.rgb,
  };
}

/**
 * Paints `layer` into `frame` under `mask` (read-only: already gated by the caller or the context).
 * Returns false when the region has (almost) no coverage. The region's own mean is measured in the
 * same pass as the luminance. `scratch`: the caller's (RenderContext.paintScratch), reused from call
 * to call; without one the call allocates its own.
 */
export function paint(frame: Frame, mask: CoverageMask, layer: PaintLayer, light: LightEstimate, scratch: PaintScratch = newPaintScratch(), drawn?: DrawnLight): boolean {
  if (layer.strength <= 0) return false;
  const win = paintWindow(scratch, mask);
  if (!win) return false;
  const stats = luminanceAndStats(scratch, frame, mask, win, layer.material.specular > 0);
  if (stats.weight < 1) return false;
  const meanY = Math.max(1e-4, stats.y);
  const m = layer.material;
  const tone = toneTable(m);
  const spec = m.specular > 0 ? specularField(scratch, mask, layer, light) : null;
  const { rows3: h3, lum: own, lo, hi } = scratch;
  const h5 = spec ? spec.rowSums : h3;
  const { covered } = win;
  const ww = win.width;
  const lastRow = win.height - 1;
  const { data, width } = frame;
  const { rect, alpha } = mask;
  const overlays = layer.overlays ?? [];
  const nOverlays = overlays.length;
  const through = m.through;
  const invMean = 1 / meanY;
  const toneScale = TONE_SCALE * invMean;
  const [c0r, c0g, c0b] = layer.colour;
  const strength = layer.strength;
  const { r: mr, g: mg, b: mb } = stats;
  const lightPlane = spec ? (drawn?.plane ?? null) : null;
  for (let y = covered.y0; y < covered.y1; y++) {
    const xa = lo[y];
    const xb = hi[y];
    if (xa >= xb) continue;
    let p = ((rect.y + y) * width + rect.x + xa) * 3;
    let i = y * rect.width + xa;
    // The same pixel in the window-sized planes, and the offsets to the rows around it (clamped to the window).
    const wy = y - win.y0;
    let j = wy * ww + xa - win.x0;
    const up1 = (Math.max(0, wy - 1) - wy) * ww;
    const dn1 = (Math.min(lastRow, wy + 1) - wy) * ww;
    const up2 = (Math.max(0, wy - 2) - wy) * ww;
    const dn2 = (Math.min(lastRow, wy + 2) - wy) * ww;
    const lobeRow = spec ? spec.lobeY[y] : 0;
    for (let x = xa; x < xb; x++, p += 3, i++, j++) {
      const a = alpha[i] * strength;
      if (a <= MIN_COVERAGE) continue;
      const r = SRGB_TO_LINEAR[data[p]];
      const g = SRGB_TO_LINEAR[data[p + 1]];
      const b = SRGB_TO_LINEAR[data[p + 2]];
      // The 3x3 mean from the row sums; rounded to single precision, as when these means were stored in Float32Arrays.
      const mean3 = Math.fround((h3[j + up1] + h3[j] + h3[j + dn1]) * (1 / 9));
      const lum = Math.fround(0.5 * (mean3 + own[j]));
      let cr = c0r;
      let cg = c0g;
      let cb = c0b;
      for (let k = 0; k < nOverlays; k++) {
        const o = overlays[k];
        const w = o.weight[i];
        cr += w * (o.colour[0] - cr);
        cg += w * (o.colour[1] - cg);
        cb += w * (o.colour[2] - cb);
      }
      const ti = lum * toneScale;
      const t = tone[ti >= TONE_STEPS ? TONE_STEPS : (ti + 0.5) | 0];
      let tr = cr * t;
      let tg = cg * t;
      let tb = cb * t;
      if (through > 0) {
        // The surface's own chroma around its mean, at this pixel's brightness.
        const d = lum * invMean;
        tr += through * (r - mr * d);
        tg += through * (g - mg * d);
        tb += through * (b - mb * d);
      }
      if (spec) {
        const smooth = Math.fround((h5[j + up2] + h5[j + up1] + h5[j] + h5[j + dn1] + h5[j + dn2]) * (1 / 25));
        const s = spec.lobeX[x] * lobeRow * shineAt(m, smooth * invMean);
        tr += s * spec.rgb[0];
        tg += s * spec.rgb[1];
        tb += s * spec.rgb[2];
        if (lightPlane) lightPlane[p / 3] += a * s * (Y_R * spec.rgb[0] + Y_G * spec.rgb[1] + Y_B * spec.rgb[2]);
      }
      data[p] = toSrgb(r + a * (tr - r));
      data[p + 1] = toSrgb(g + a * (tg - g));
      data[p + 2] = toSrgb(b + a * (tb - b));
    }
  }
  return true;
}

/** Linear light → sRGB byte by table (inlined by the JIT: no Math calls in the blend loop). */
function toSrgb(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : LINEAR_TO_SRGB[(v * LINEAR_STEPS + 0.5) | 0];
}
