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
 * The factor is computed once per block and interpolated bilinearly to the pixels (skin-grid.ts),
 * so the per-pixel cost is a multiply per channel. Block sums are normalised by coverage, so
 * hair and background outside the mask never bleed into the skin's averages.
 * Region: `faceSkin` (the oval minus eyes, brows, lips and nostrils), gated.
 * concealer.ts uses the same cover with its own zones.
 */
import type { Frame } from '../../core/frame.ts';
import { interOcular } from '../../vision/regions.ts';
import { hexToLinear } from '../colour.ts';
import type { CoverageMask } from '../raster.ts';
import { STYLE_SCHEMAS } from '../catalog/schema.ts';
import type { AppliedProduct, CategoryRenderer, RenderContext } from './renderer.ts';
import { f32 } from '../frame-arena.ts';
import { applyGains, blockSums, cellGrid, coveredSpans } from './skin-grid.ts';

export interface CoverLayer {
  /** The product's colour, linear RGB. */
  colour: readonly [number, number, number];
  /** How far the skin's base colour moves towards the product (0..1). */
  colourStrength: number;
  /** How much of the blemish band is evened out (0..1). */
  evening: number;
}

/** Base blur, as a fraction of the inter-ocular distance (the block size: skin-grid.ts). */
const BASE_RADIUS = 0.12;
/** Factors outside this range are clamped (a mask edge on a dark brow must not blow up). */
const MIN_FACTOR = 0.08;
const MAX_FACTOR = 8;
const MIN_TONE = 0.75;
const MAX_TONE = 1.35;
/** At full coverage this much of the blemish band goes (a little always stays: skin is not plastic). */
const MAX_EVENING = 0.92;

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

/** Lays a covering product over `mask` (gated, read-only); returns false when there is no skin under it. */
export function coverSkin(frame: Frame, mask: CoverageMask, layer: CoverLayer, faceScale: number): boolean {
  const spans = coveredSpans(mask);
  if (!spans) return false;
  const grid = cellGrid(mask, faceScale);
  const { f, gw, gh } = grid;
  const sums = blockSums(frame, mask, spans, grid);
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
  applyGains(frame, mask, spans, grid, k);
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
