/**
 * The skin products' low-frequency work on a reduced-resolution grid (the "makeup layer"): a face
 * product's effect on skin (foundation's tone evening, the colour of blush, contour, bronzer,
 * highlighter and concealer) varies over a few pixels at most, so it is computed per cell of a
 * block grid over the mask's rect (cells ~3.5 % of the inter-ocular distance): foundation and
 * concealer as one gain per channel and cell laid on the pixels (each keeps its own detail against
 * its cell: pores, texture), blush, contour, bronzer and highlighter as the region's statistics and
 * the finish's shine (face-layers.ts), so only one pass at full resolution is left to each.
 *
 * Block sums are coverage-weighted (hair and background outside the mask never bleed into a cell's
 * colour) and, for cells of 4 px and more, sampled every other pixel and row.
 */
import type { Frame } from '../../core/frame.ts';
import * as colour from '../colour.ts';
import { coverageSpans, type CoverageMask, type Span } from '../raster.ts';
import { currentKernels, f32, i32 } from '../frame-arena.ts';
import type { Kernels } from '../simd/kernels.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

/** Cell size as a fraction of the inter-ocular distance (pores and fine texture average out). */
const BLOCK = 0.035;
/** Coverage below this is not painted (and not counted in a cell's colour). */
export const MIN_COVERAGE = 0.003;

/** A block grid over a mask's rect: cells of f x f pixels, gw x gh of them. */
export interface CellGrid {
  f: number;
  gw: number;
  gh: number;
}

export function cellGrid(mask: CoverageMask, faceScale: number): CellGrid {
  const f = Math.min(16, Math.max(2, Math.round(faceScale * BLOCK)));
  return { f, gw: Math.ceil(mask.rect.width / f), gh: Math.ceil(mask.rect.height / f) };
}

/** The rows' covered spans (coverage above MIN_COVERAGE) and their box: both passes visit only these. */
export interface Spans {
  lo: Int32Array;
  hi: Int32Array;
  box: Span;
}

export function coveredSpans(mask: CoverageMask): Spans | null {
  const lo = i32(mask.rect.height);
  const hi = i32(mask.rect.height);
  const box = coverageSpans(mask, MIN_COVERAGE, lo, hi);
  return box ? { lo, hi, box } : null;
}

/**
 * Per cell: the coverage-weighted sums of linear R, G, B and of coverage (4 values a cell). Cells
 * of 4 px and more are sampled every other pixel and row: a block average needs no more.
 */
export function blockSums(frame: Frame, mask: CoverageMask, spans: Spans, grid: CellGrid): Float32Array {
  const { f, gw, gh } = grid;
  const sums = f32(gw * gh * 4);
  const { data, width } = frame;
  const { rect, alpha } = mask;
  const { lo, hi, box } = spans;
  const step = f >= 4 ? 2 : 1;
  for (let y = Math.ceil(box.y0 / step) * step; y < box.y1; y += step) {
    const row = Math.floor(y / f) * gw;
    const p0 = ((rect.y + y) * width + rect.x) * 3;
    const i0 = y * rect.width;
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
 * Lays per-cell linear-light gains (`gains`: 3 a cell, 1 = unchanged) over the mask's covered
 * pixels, weighted by coverage, interpolated bilinearly between cell centres. A gain is applied to
 * the 8-bit sRGB value as gain^(1/2.2) (sRGB is within a level or two of a 2.2 power law for gains
 * near 1), so the per-pixel work is a multiply per channel; the clamped view rounds and clips to 0..255.
 * `gains` is overwritten (with the sRGB-domain gains minus 1). In the try-on stage (its buffers in
 * the SIMD kernels' memory) the pass runs as a kernel: simd/assembly/gains.ts, the same sums in
 * float32, within a level of these.
 */
export function applyGains(frame: Frame, mask: CoverageMask, spans: Spans, grid: CellGrid, gains: Float32Array): void {
  const { f, gw, gh } = grid;
  // Cells left at 1 (no skin: most of the grid around the face) are spared the power.
  for (let j = 0; j < gains.length; j++) gains[j] = gains[j] === 1 ? 0 : Math.exp(Math.log(gains[j]) / 2.2) - 1;
  const { lo, hi, box } = spans;
  const kernels = currentKernels();
  if (kernels && gainsOnKernel(kernels, frame, mask, spans, grid, gains)) return;
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
  for (let y = box.y0; y < box.y1; y++) {
    const xa = lo[y];
    const xb = hi[y];
    if (xa >= xb) continue;
    const gy = Math.min(gh - 1, Math.max(0, (y + 0.5) / f - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const wy = gy - y0;
    for (let j = 0; j < gw * 3; j++) row[j] = gains[y0 * gw * 3 + j] * (1 - wy) + gains[y1 * gw * 3 + j] * wy;
    let p = ((rect.y + y) * width + rect.x + xa) * 3;
    let i = y * rect.width + xa;
    // Column by column of the grid: the two cells' gains are read once per grid column, not per pixel.
    for (let x = xa; x < xb; ) {
      const j0 = cx0[x];
      const j1 = cx1[x];
      const r0 = row[j0];
      const g0 = row[j0 + 1];
      const b0 = row[j0 + 2];
      const dr = row[j1] - r0;
      const dg = row[j1 + 1] - g0;
      const db = row[j1 + 2] - b0;
      for (; x < xb && cx0[x] === j0; x++, p += 3, i++) {
        const a = alpha[i];
        if (a <= MIN_COVERAGE) continue;
        const wx = cwx[x];
        out[p] = out[p] * (1 + a * (r0 + wx * dr));
        out[p + 1] = out[p + 1] * (1 + a * (g0 + wx * dg));
        out[p + 2] = out[p + 2] * (1 + a * (b0 + wx * db));
      }
    }
  }
}

/**
 * applyGains's pass as the SIMD kernel, on the mask rect's rows copied into the kernels' memory.
 * False (nothing done) when a buffer is not in the kernels' memory (an arena that has not grown to
 * this frame yet).
 */
function gainsOnKernel(kernels: Kernels, frame: Frame, mask: CoverageMask, spans: Spans, grid: CellGrid, gains: Float32Array): boolean {
  const { rect, alpha } = mask;
  const { lo, hi, box } = spans;
  const scratch = f32(grid.gw * 3 + 4 + 3 * (rect.width + 4));
  if (!kernels.holds(alpha, lo, hi, gains, scratch)) return false;
  return kernels.paintRows(frame, rect, box.y0, box.y1, (pixels) =>
    kernels.exports.applyGains(pixels, rect.width, alpha.byteOffset, lo.byteOffset, hi.byteOffset, box.y0, box.y1, gains.byteOffset, grid.gw, grid.gh, grid.f, scratch.byteOffset),
  );
}
