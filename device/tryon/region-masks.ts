/**
 * Soft masks of face regions at frame resolution: anti-aliased even-odd coverage of the region's
 * loops (vision/regions.ts), feathered in proportion to the face (inter-ocular distance), so the
 * mask edge hides the mesh's few-pixel error at any distance from the mirror.
 */
import { interOcular, regionPolygons, type Point, type Polygon, type RegionName } from '../vision/regions.ts';
import { boxBlur, cutOut, fillPolygons, polygonBounds, type CoverageMask, type MaskRect } from './raster.ts';
import { f32, i32 } from './frame-arena.ts';

/** Default feather per region, as a fraction of the inter-ocular distance. */
const FEATHER: Partial<Record<RegionName, number>> = {
  // About 3.5 % of the mouth width, what the lipstick renderer was tuned with.
  lips: 0.02,
  lipsOuter: 0.012,
  mouthOpening: 0.008,
  eyeliner: 0.006,
  eyelinerRight: 0.006,
  eyelinerLeft: 0.006,
  eyes: 0.006,
  eyeRight: 0.006,
  eyeLeft: 0.006,
  brows: 0.012,
  browRight: 0.012,
  browLeft: 0.012,
  // Blush, contour and highlight are diffuse by nature.
  cheeks: 0.09,
  cheekRight: 0.09,
  cheekLeft: 0.09,
  contour: 0.08,
  noseBridge: 0.04,
  noseSides: 0.04,
  forehead: 0.06,
  chin: 0.06,
  eyeshadow: 0.03,
  eyeshadowRight: 0.03,
  eyeshadowLeft: 0.03,
  // Foundation's outer edge fades wide over the hairline and jaw (see SPLIT_FEATHER for its holes).
  faceSkin: 0.16,
  nostrils: 0.01,
  underEyes: 0.08,
  underEyeRight: 0.08,
  underEyeLeft: 0.08,
  cheeksLifted: 0.09,
  cheekLiftedRight: 0.09,
  cheekLiftedLeft: 0.09,
  cheekbones: 0.07,
  browBones: 0.03,
};

/**
 * Regions whose first loop is an outline and the rest holes, feathered apart: foundation fades
 * wide over the hairline and jaw but must stop short at the eyes, brows, lips and nostrils, which a
 * wide blur would half cover. Value: the holes' feather (fraction of the inter-ocular distance).
 */
const SPLIT_FEATHER: Partial<Record<RegionName, number>> = { faceSkin: 0.012 };
const DEFAULT_FEATHER = 0.015;

/**
 * Holes the feather must not reach: a thin mouth opening is narrower than the feather, so a plain
 * blur would tint the teeth. Coverage inside these stays exactly zero; the edge softens on the
 * region's side only.
 */
const HARD_HOLES: Partial<Record<RegionName, RegionName>> = { lips: 'mouthOpening' };

export interface RegionMaskOptions {
  /** Feather radius in pixels; default: per region, proportional to the inter-ocular distance. */
  featherPx?: number;
}

/** Coverage 0..1 of `name` over a rect of the frame (null when the region lies outside it). */
export function regionMask(
  landmarks: ReadonlyArray<Point>,
  name: RegionName,
  frame: { width: number; height: number },
  options: RegionMaskOptions = {},
): CoverageMask | null {
  const polygons = regionPolygons(landmarks, name);
  const scale = interOcular(landmarks);
  const feather = options.featherPx ?? Math.max(0.5, scale * featherOf(name));
  const holeFeather = SPLIT_FEATHER[name];
  // A split region's outline fades inwards only (nothing past its loop): half the feather is room enough.
  const rect = polygonBounds(polygons, holeFeather === undefined ? featherReach(feather) : Math.ceil(feather) + 1, frame);
  if (!rect) return null;
  const alpha = holeFeather === undefined ? feathered(polygons, rect, feather) : outlineMinusHoles(polygons, rect, feather, Math.max(0.5, scale * holeFeather));
  const hole = HARD_HOLES[name];
  if (hole) cutOut(alpha, rect, regionPolygons(landmarks, hole));
  return { rect, alpha };
}

/** Coverage 0..1 of any loops (a face-shape zone: render/shape-placement.ts), feathered by `featherPx`. */
export function polygonMask(polygons: Polygon[], featherPx: number, frame: { width: number; height: number }): CoverageMask | null {
  const rect = polygonBounds(polygons, featherReach(featherPx), frame);
  return rect ? { rect, alpha: feathered(polygons, rect, featherPx) } : null;
}

/** A one-sided region (cheekboneRight) is feathered as its pair (cheekbones). */
function featherOf(name: RegionName): number {
  return FEATHER[name] ?? FEATHER[name.replace(/(Right|Left)$/, 's') as RegionName] ?? FEATHER[name.replace(/(Right|Left)$/, '') as RegionName] ?? DEFAULT_FEATHER;
}

/** Feathers at least this wide (px) are rasterised at a lower resolution and upsampled: they are smooth anyway. */
const COARSE_FEATHER = 8;

/** The coarse grid's cell (px) for a wide feather: up to 4, the blur still ≥ 2 coarse pixels. */
const coarseStep = (feather: number): number => Math.min(4, Math.floor(feather / 4));

/**
 * How far (px) a feathered mask's coverage reaches past its loops, and so the pad its rect needs for
 * the coverage to be exactly 0 on the rect's border (a mask cut off above 0 shows its box as a step).
 * Full resolution: the blur's rounded radius, plus the loop's partly covered pixel. Coarse: the blur's
 * rounded radius in cells, plus the cell the loop's edge lies in and the cell the bilinear upsampling
 * reads past it.
 */
export function featherReach(feather: number): number {
  if (feather < COARSE_FEATHER) return Math.ceil(feather) + 1;
  const s = coarseStep(feather);
  return (Math.round(feather / s) + 2) * s + 1;
}

function feathered(polygons: Polygon[], rect: MaskRect, feather: number, shape?: (v: number) => number): Float32Array {
  if (feather >= COARSE_FEATHER) return coarseFeathered(polygons, rect, feather, shape);
  const filled = fillPolygons(polygons, rect);
  const alpha = feather >= 1 ? boxBlur(filled, rect.width, rect.height, feather) : filled;
  if (shape) for (let i = 0; i < alpha.length; i++) alpha[i] = shape(alpha[i]);
  return alpha;
}

/** The outline's inward fade: half the blur's ramp, the inner half (nothing spills past the outline). */
const inward = (v: number): number => (v <= 0.5 ? 0 : v >= 1 ? 1 : 2 * v - 1);

/**
 * Fill and blur at 1/s resolution (s up to 4, the blur still ≥ 2 coarse pixels), then bilinear back
 * to the rect. `shape` maps each coarse value first (the outline's inward fade). Rows are
 * interpolated once per coarse column, and runs where the coarse values agree (the region's flat
 * inside and its empty surround: most of a large region) are filled without interpolating.
 */
function coarseFeathered(polygons: Polygon[], rect: MaskRect, feather: number, shape?: (v: number) => number): Float32Array {
  const s = coarseStep(feather);
  const low: MaskRect = { x: 0, y: 0, width: Math.ceil(rect.width / s) + 1, height: Math.ceil(rect.height / s) + 1 };
  const scaled = polygons.map((poly) => poly.map(([x, y]): [number, number] => [(x - rect.x) / s, (y - rect.y) / s]));
  const coarse = boxBlur(fillPolygons(scaled, low), low.width, low.height, feather / s);
  if (shape) for (let i = 0; i < coarse.length; i++) coarse[i] = shape(coarse[i]);
  const alpha = f32(rect.width * rect.height);
  // Column → coarse position once per call, not per pixel; cellStart[c]: the first column in coarse cell c.
  const cx0 = i32(rect.width);
  const cwx = f32(rect.width);
  const cells = low.width - 1;
  const cellStart = i32(cells + 1).fill(rect.width);
  for (let x = rect.width - 1; x >= 0; x--) {
    const gx = Math.max(0, (x + 0.5) / s - 0.5);
    cx0[x] = Math.min(low.width - 2, Math.floor(gx));
    cwx[x] = gx - cx0[x];
    cellStart[cx0[x]] = x;
  }
  for (let c = cells - 1; c >= 0; c--) cellStart[c] = Math.min(cellStart[c], cellStart[c + 1]);
  const column = f32(low.width);
  for (let y = 0; y < rect.height; y++) {
    const gy = Math.max(0, (y + 0.5) / s - 0.5);
    const y0 = Math.min(low.height - 2, Math.floor(gy));
    const wy = gy - y0;
    const r0 = y0 * low.width;
    const r1 = r0 + low.width;
    for (let c = 0; c < low.width; c++) column[c] = coarse[r0 + c] + wy * (coarse[r1 + c] - coarse[r0 + c]);
    const o = y * rect.width;
    // Cells whose two ends agree (the region's flat inside, its empty surround: most of a large
    // region) are filled, consecutive equal ones in one run; the others are interpolated.
    let runStart = 0;
    let runValue = 0;
    for (let c = 0; c < cells; c++) {
      const xa = cellStart[c];
      const xb = cellStart[c + 1];
      if (xa >= xb) continue;
      const v0 = column[c];
      const dv = column[c + 1] - v0;
      if (dv === 0 && v0 === runValue) continue;
      if (runValue !== 0) alpha.fill(runValue, o + runStart, o + xa);
      if (dv === 0) {
        runStart = xa;
        runValue = v0;
        continue;
      }
      runValue = 0;
      for (let x = xa; x < xb; x++) alpha[o + x] = v0 + cwx[x] * dv;
    }
    if (runValue !== 0) alpha.fill(runValue, o + runStart, o + rect.width);
  }
  return alpha;
}

/**
 * The first loop faded inwards over `outer` pixels (nothing spills past the outline onto hair or
 * background), times one minus the other loops (non-overlapping holes) feathered by `inner`.
 */
function outlineMinusHoles(polygons: Polygon[], rect: MaskRect, outer: number, inner: number): Float32Array {
  const alpha = feathered(polygons.slice(0, 1), rect, outer / 2, inward);
  // Each hole in its own small rect: the features are a small part of the face.
  for (const hole of polygons.slice(1)) {
    const box = polygonBounds([hole], Math.ceil(inner) + 1, { width: rect.x + rect.width, height: rect.y + rect.height });
    if (!box) continue;
    const cut = feathered([hole], box, inner);
    const x0 = Math.max(box.x, rect.x);
    const x1 = Math.min(box.x + box.width, rect.x + rect.width);
    const y1 = Math.min(box.y + box.height, rect.y + rect.height);
    for (let y = Math.max(box.y, rect.y); y < y1; y++) {
      const a = (y - rect.y) * rect.width - rect.x;
      const c = (y - box.y) * box.width - box.x;
      for (let x = x0; x < x1; x++) {
        alpha[a + x] *= Math.max(0, 1 - cut[c + x]);
      }
    }
  }
  return alpha;
}
