/**
 * Foundation: evens the skin's tone towards the shade while keeping pores and texture.
 *
 * The skin is split in three bands, in linear light, by a coverage-weighted block average (the
 * "mid" image, blocks ~3.5 % of the inter-ocular distance: pores and fine texture average out) and a
 * wide blur of it (the "base": the face's own shading, ~12 % of the inter-ocular distance):
 *   detail  = pixel / mid    pores, texture, fine lines: always kept;
 *   tone    = mid / base     blemishes, redness, uneven patches: faded by coverage;
 *   base                     moved towards the shade (at the base's own brightness relative to
 *                            the skin's mean, so the face keeps its light).
 *   out = pixel · base'/base · ((1 − e) + e · base/mid),  e = coverage, base' = base + a·(shade·Yb/Ȳ − base)
 * The factor is computed once per block and interpolated bilinearly to the pixels, so the per-pixel
 * cost is two table look-ups and a multiply per channel. Block sums are normalised by coverage, so
 * hair and background outside the mask never bleed into the skin's averages.
 * Region: `faceSkin` (the oval minus eyes, brows, lips and nostrils), gated.
 * concealer.ts uses the same cover with its own zones.
 */
import type { Frame } from '../../core/frame.ts';
import { interOcular } from '../../vision/regions.ts';
import { SRGB_TO_LINEAR, hexToLinear } from '../colour.ts';
import { coverageSpans, type CoverageMask, type Span } from '../raster.ts';
import { STYLE_SCHEMAS } from '../catalog/schema.ts';
import type { AppliedProduct, CategoryRenderer, RenderContext } from './renderer.ts';
import { f32, i32 } from '../frame-arena.ts';

export interface CoverLayer {
  /** The product's colour, linear RGB. */
  colour: readonly [number, number, number];
  /** How far the skin's base colour moves towards the product (0..1). */
  colourStrength: number;
  /** How much of the blemish band is evened out (0..1). */
  evening: number;
}

/** Block size and base blur, as fractions of the inter-ocular distance. */
const BLOCK = 0.035;
const BASE_RADIUS = 0.12;
/** Factors outside this range are clamped (a mask edge on a dark brow must not blow up). */
const MIN_FACTOR = 0.08;
const MAX_FACTOR = 8;
const MIN_COVERAGE = 0.003;
const MIN_TONE = 0.75;
const MAX_TONE = 1.35;
/** At full coverage this much of the blemish band goes (a little always stays: skin is not plastic). */
const MAX_EVENING = 0.92;

/** The rows' covered spans (coverage above MIN_COVERAGE, what both passes skip below) and their box. */
interface Spans {
  lo: Int32Array;
  hi: Int32Array;
  box: Span;
}

function coveredSpans(mask: CoverageMask): Spans | null {
  const lo = i32(mask.rect.height);
  const hi = i32(mask.rect.height);
  const box = coverageSpans(mask, MIN_COVERAGE, lo, hi);
  return box ? { lo, hi, box } : null;
}

/**
 * Block sums of coverage-weighted linear RGB and of coverage, over the mask's rect. Blocks of 4 px
 * and more are sampled every other pixel and row: a block average needs no more.
 */
function blockSums(frame: Frame, mask: CoverageMask, spans: Spans, f: number, gw: number, gh: number): Float32Array {
  const sums = f32(gw * gh * 4);
  const { data, width } = frame;
  const { rect, alpha } = mask;
  const { lo, hi, box } = spans;
  const step = f >= 4 ? 2 : 1;
  for (let y = 0; y < rect.height; y += step) {
    if (y < box.y0 || y >= box.y1) continue;
    const row = Math.floor(y / f) * gw;
    const p0 = ((rect.y + y) * width + rect.x) * 3;
    const i0 = y * rect.width;
    // The sampled columns (every `step`-th from the rect's left) within the row's covered span.
    for (let x = Math.ceil(lo[y] / step) * step; x < hi[y]; x += step) {
      const a = alpha[i0 + x];
      if (a <= MIN_COVERAGE) continue;
      const p = p0 + x * 3;
      const k = (row + Math.floor(x / f)) * 4;
      sums[k] += a * SRGB_TO_LINEAR[data[p]];
      sums[k + 1] += a * SRGB_TO_LINEAR[data[p + 1]];
      sums[k + 2] += a * SRGB_TO_LINEAR[data[p + 2]];
      sums[k + 3] += a;
    }
  }
  return sums;
}

/**
 * Box sum (window 2r+1, clamped edges) of a 4-channel grid, separable, each pass a running sum: a
 * cell costs one add and one subtract per channel whatever the radius (the base blur's is ~3-4).
 */
function blurGrid(src: Float32Array, gw: number, gh: number, r: number): Float32Array {
  if (r <= 0) return src;
  const tmp = f32(src.length);
  const out = f32(src.length);
  const run = new Float64Array(4);
  for (let y = 0; y < gh; y++) {
    const row = y * gw;
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let d = -r; d <= r; d++) s += src[(row + Math.min(gw - 1, Math.max(0, d))) * 4 + c];
      run[c] = s;
    }
    for (let x = 0; x < gw; x++) {
      const add = (row + Math.min(gw - 1, x + r + 1)) * 4;
      const drop = (row + Math.max(0, x - r)) * 4;
      const o = (row + x) * 4;
      for (let c = 0; c < 4; c++) {
        tmp[o + c] = run[c];
        run[c] += src[add + c] - src[drop + c];
      }
    }
  }
  const stride = gw * 4;
  const acc = new Float64Array(stride);
  for (let d = -r; d <= r; d++) {
    const o = Math.min(gh - 1, Math.max(0, d)) * stride;
    for (let k = 0; k < stride; k++) acc[k] += tmp[o + k];
  }
  for (let y = 0; y < gh; y++) {
    const o = y * stride;
    const add = Math.min(gh - 1, y + r + 1) * stride;
    const drop = Math.max(0, y - r) * stride;
    for (let k = 0; k < stride; k++) {
      out[o + k] = acc[k];
      acc[k] += tmp[add + k] - tmp[drop + k];
    }
  }
  return out;
}

/** One channel's factor: the base moved towards `target` by `a`, the blemish band (base / mid) evened by `e`. */
function channelFactor(base: number, target: number, midSum: number, mw: number, a: number, e: number): number {
  const bc = Math.max(1e-4, base);
  const m = mw > 1e-3 ? Math.max(1e-4, midSum / mw) : bc;
  const moved = bc + a * (target - bc);
  // Blemishes are a few tens of % off the base; more is a feature's edge (brow, lash), left alone.
  const tone = Math.min(MAX_TONE, Math.max(MIN_TONE, bc / m));
  const factor = (moved / bc) * (1 - e + e * tone);
  return Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, factor));
}

/** Per-block colour factor (3 channels) at full mask coverage; 1 where the block holds no skin. */
function blockFactors(mid: Float32Array, base: Float32Array, cells: number, layer: CoverLayer, meanY: number): Float32Array {
  const k = f32(cells * 3).fill(1);
  const [sr, sg, sb] = layer.colour;
  const a = layer.colourStrength;
  const e = layer.evening;
  for (let i = 0; i < cells; i++) {
    const bw = base[i * 4 + 3];
    if (bw <= 1e-3) continue;
    const br = base[i * 4] / bw;
    const bg = base[i * 4 + 1] / bw;
    const bb = base[i * 4 + 2] / bw;
    const mw = mid[i * 4 + 3];
    const shading = (0.2126 * br + 0.7152 * bg + 0.0722 * bb) / meanY;
    k[i * 3] = channelFactor(br, sr * shading, mid[i * 4], mw, a, e);
    k[i * 3 + 1] = channelFactor(bg, sg * shading, mid[i * 4 + 1], mw, a, e);
    k[i * 3 + 2] = channelFactor(bb, sb * shading, mid[i * 4 + 2], mw, a, e);
  }
  return k;
}

/**
 * Multiplies each pixel by the bilinearly interpolated block factor, weighted by its coverage. The
 * factors are linear-light gains; they are applied to the 8-bit sRGB values as gain^(1/2.2)
 * (sRGB is within a level of a 2.2 power law for a gain this close to 1), so the per-pixel work
 * is a multiply per channel; the clamped view rounds and clips to 0..255.
 */
function applyFactors(frame: Frame, mask: CoverageMask, spans: Spans, k: Float32Array, f: number, gw: number, gh: number): void {
  // Cells with no skin keep factor 1 (gain 0): most of the grid around the face, spared the power.
  for (let j = 0; j < k.length; j++) k[j] = k[j] === 1 ? 0 : k[j] ** (1 / 2.2) - 1;
  const out = new Uint8ClampedArray(frame.data.buffer, frame.data.byteOffset, frame.data.length);
  const { width } = frame;
  const { rect, alpha } = mask;
  const row = f32(gw * 3);
  // Column → grid position, once per call rather than per pixel.
  const cx0 = i32(rect.width);
  const cx1 = i32(rect.width);
  const cwx = f32(rect.width);
  for (let x = 0; x < rect.width; x++) {
    const gx = Math.min(gw - 1, Math.max(0, (x + 0.5) / f - 0.5));
    const x0 = Math.floor(gx);
    cx0[x] = x0 * 3;
    cx1[x] = Math.min(gw - 1, x0 + 1) * 3;
    cwx[x] = gx - x0;
  }
  const { lo, hi, box } = spans;
  for (let y = box.y0; y < box.y1; y++) {
    const xa = lo[y];
    const xb = hi[y];
    if (xa >= xb) continue;
    const gy = Math.min(gh - 1, Math.max(0, (y + 0.5) / f - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const wy = gy - y0;
    for (let j = 0; j < gw * 3; j++) row[j] = k[y0 * gw * 3 + j] * (1 - wy) + k[y1 * gw * 3 + j] * wy;
    let p = ((rect.y + y) * width + rect.x + xa) * 3;
    let i = y * rect.width + xa;
    for (let x = xa; x < xb; x++, p += 3, i++) {
      const a = alpha[i];
      if (a <= MIN_COVERAGE) continue;
      const j0 = cx0[x];
      const j1 = cx1[x];
      const wx = cwx[x];
      out[p] = out[p] * (1 + a * (row[j0] + wx * (row[j1] - row[j0])));
      out[p + 1] = out[p + 1] * (1 + a * (row[j0 + 1] + wx * (row[j1 + 1] - row[j0 + 1])));
      out[p + 2] = out[p + 2] * (1 + a * (row[j0 + 2] + wx * (row[j1 + 2] - row[j0 + 2])));
    }
  }
}

/** Lays a covering product over `mask` (gated, read-only); returns false when there is no skin under it. */
export function coverSkin(frame: Frame, mask: CoverageMask, layer: CoverLayer, faceScale: number): boolean {
  const spans = coveredSpans(mask);
  if (!spans) return false;
  const f = Math.min(16, Math.max(2, Math.round(faceScale * BLOCK)));
  const gw = Math.ceil(mask.rect.width / f);
  const gh = Math.ceil(mask.rect.height / f);
  const sums = blockSums(frame, mask, spans, f, gw, gh);
  let total = 0;
  let lum = 0;
  for (let i = 0; i < gw * gh; i++) {
    total += sums[i * 4 + 3];
    lum += 0.2126 * sums[i * 4] + 0.7152 * sums[i * 4 + 1] + 0.0722 * sums[i * 4 + 2];
  }
  if (total < 1) return false;
  const mid = blurGrid(sums, gw, gh, 1);
  const base = blurGrid(sums, gw, gh, Math.max(2, Math.round((faceScale * BASE_RADIUS) / f)));
  const k = blockFactors(mid, base, gw * gh, layer, Math.max(1e-4, lum / total));
  applyFactors(frame, mask, spans, k, f, gw, gh);
  return true;
}

/** Colour and evening strength of a foundation or concealer at `coverage` (0 sheer .. 1 full). */
export function coverLayer(item: AppliedProduct, coverage: number): CoverLayer {
  const strength = item.shade.opacity * item.intensity;
  return {
    colour: hexToLinear(item.shade.hex),
    // Sheer tints a little, full coverage lays the shade's own colour.
    colourStrength: strength * (0.35 + 0.65 * coverage),
    evening: item.intensity * coverage * MAX_EVENING,
  };
}

/** The shade's `style.coverage` (the catalog validated it); `fallback` when the shade has no style. */
export function styleCoverage(category: 'foundation' | 'concealer', item: AppliedProduct, fallback: number): number {
  const style = STYLE_SCHEMAS[category].safeParse(item.shade.style ?? {});
  return style.success ? style.data.coverage : fallback;
}

export const foundationRenderer: CategoryRenderer = {
  category: 'foundation',
  render(ctx: RenderContext, item: AppliedProduct): boolean {
    const mask = ctx.mask('faceSkin');
    if (!mask) return false;
    return coverSkin(ctx.frame, mask, coverLayer(item, styleCoverage('foundation', item, 0.5)), interOcular(ctx.face.landmarks));
  },
};
