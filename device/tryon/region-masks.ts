/**
 * Soft masks of face regions at frame resolution: anti-aliased even-odd coverage of the region's
 * loops (vision/regions.ts), feathered in proportion to the face (inter-ocular distance), so the
 * mask edge hides the mesh's few-pixel error at any distance from the mirror.
 */
import { interOcular, regionPolygons, type Point, type RegionName } from '../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type CoverageMask } from './raster.ts';

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
};
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
  const feather = options.featherPx ?? Math.max(0.5, interOcular(landmarks) * (FEATHER[name] ?? DEFAULT_FEATHER));
  const rect = polygonBounds(polygons, Math.ceil(feather) * 2 + 1, frame);
  if (!rect) return null;
  const filled = fillPolygons(polygons, rect);
  const alpha = feather >= 1 ? boxBlur(filled, rect.width, rect.height, feather) : filled;
  const hole = HARD_HOLES[name];
  if (hole) {
    const inside = fillPolygons(regionPolygons(landmarks, hole), rect);
    for (let i = 0; i < alpha.length; i++) alpha[i] *= 1 - Math.min(1, inside[i]);
  }
  return { rect, alpha };
}
