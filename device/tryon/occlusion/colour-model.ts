/**
 * A robust colour model of one surface (lip, lid skin, face skin) sampled from the frame itself:
 * per-channel median and median absolute deviation in CIELAB. The median ignores whatever covers
 * less than half of the sample (a finger, a tongue, a lock of hair), so the model stays the
 * surface's own; a floor on each spread keeps a very even surface from calling its own shading
 * foreign.
 */
import type { LabPlane } from './lab-plane.ts';
import { fillPolygons, type MaskRect } from '../raster.ts';
import type { Polygon } from '../../vision/regions.ts';
import { f32 } from '../frame-arena.ts';

export interface ColourModel {
  L: number;
  a: number;
  b: number;
  /** Robust spreads (1.4826 x MAD, floored), in Lab units. */
  sL: number;
  sa: number;
  sb: number;
}

export interface SpreadFloor {
  L: number;
  a: number;
  b: number;
}

/** Fewer samples than this: no model (the surface is too small or off the frame). */
const MIN_SAMPLES = 12;

/** The k-th smallest of a[lo..hi] (Hoare's selection, in place): linear time, where a sort is n log n. */
function select(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * The median of `values`, reordering them in place (the caller's own samples: the median and the
 * spread around it do not depend on their order, so no copy is made).
 */
function medianOf(values: Float32Array): number {
  const mid = values.length >> 1;
  if (values.length % 2) return select(values, mid);
  // After selecting the upper middle, everything below it is smaller: the lower middle is their maximum.
  const upper = select(values, mid);
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (values[i] > lower) lower = values[i];
  return (lower + upper) / 2;
}

function robustSpread(values: Float32Array, centre: number, floor: number): number {
  const dev = f32(values.length);
  for (let i = 0; i < values.length; i++) dev[i] = Math.abs(values[i] - centre);
  return Math.max(floor, 1.4826 * medianOf(dev));
}

/** At most about this many pixels are sampled (evenly strided): the median needs no more. */
const MAX_SAMPLES = 2048;

/** Polygons (even-odd) to sample, and the rect of the frame to sample them in. */
export interface SampleRegion {
  polys: Polygon[];
  rect: MaskRect;
}

/**
 * The model of the pixels of `region` covered at least `minCover` by its polygons, leaving out
 * those within `exclude.within` of `exclude.model` (a finger, i.e. skin, lying on the lip band);
 * null when too few. Only the strided rows that are sampled are rasterised, in one call (raster.ts
 * fillPolygons' rowStep: each row's coverage is the same as in a fill of the whole rect).
 */
export function sampleModel(
  lab: LabPlane,
  region: SampleRegion,
  floor: SpreadFloor,
  exclude?: { model: ColourModel; within: number },
  minCover = 0.99,
): ColourModel | null {
  const { rect, polys } = region;
  const step = Math.max(1, Math.floor(Math.sqrt((rect.width * rect.height) / MAX_SAMPLES)));
  const capacity = Math.ceil(rect.width / step) * Math.ceil(rect.height / step);
  const channels = [f32(capacity), f32(capacity), f32(capacity)];
  const data = lab.data();
  let n = 0;
  const cover = fillPolygons(polys, rect, step);
  for (let y = 0, row = 0; y < rect.height; y += step, row += rect.width) {
    for (let x = 0; x < rect.width; x += step) {
      if (cover[row + x] < minCover || !lab.has(rect.x + x, rect.y + y)) continue;
      const o = lab.offset(rect.x + x, rect.y + y);
      if (exclude && distance(exclude.model, data, o) < exclude.within) continue;
      for (let c = 0; c < 3; c++) channels[c][n] = data[o + c];
      n++;
    }
  }
  if (n < MIN_SAMPLES) return null;
  const [Ls, as, bs] = channels.map((ch) => ch.subarray(0, n));
  const L = medianOf(Ls);
  const a = medianOf(as);
  const b = medianOf(bs);
  return { L, a, b, sL: robustSpread(Ls, L, floor.L), sa: robustSpread(as, a, floor.a), sb: robustSpread(bs, b, floor.b) };
}

/**
 * Normalised distance of Lab triplet at `data[o]` from `m` (1 = one spread away). `darker`: the
 * lightness spread is that many times wider below the model's lightness (skin.ts ShadedZone).
 */
export function distance(m: ColourModel, data: Float32Array, o: number, darker = 1): number {
  const dL = (data[o] - m.L) / (data[o] < m.L ? m.sL * darker : m.sL);
  const da = (data[o + 1] - m.a) / m.sa;
  const db = (data[o + 2] - m.b) / m.sb;
  return Math.sqrt(dL * dL + da * da + db * db);
}

/** 0 below `lo`, 1 above `hi`, linear between. */
export const ramp = (v: number, lo: number, hi: number): number => (v <= lo ? 0 : v >= hi ? 1 : (v - lo) / (hi - lo));
