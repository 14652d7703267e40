/**
 * Each eye's own coordinate frame from the mesh, shared by eyeshadow, eyeliner and mascara: t runs
 * along the eye from the inner (0) to the outer corner (1); s rises from the upper lash line (0) to
 * just under the brow (1). Zones (lid, crease, outer corner), lash directions and liner placement
 * are defined in it, so they follow the eye as the head tilts, turns or comes closer.
 */
import {
  EYE_LEFT_LOWER,
  EYE_LEFT_RING2_UPPER,
  EYE_LEFT_UPPER,
  EYE_RIGHT_LOWER,
  EYE_RIGHT_RING2_UPPER,
  EYE_RIGHT_UPPER,
  EYE_LEFT_RING1_UPPER,
  EYE_RIGHT_RING1_UPPER,
  regionPolygons,
  type Point,
  type RegionName,
} from '../../vision/regions.ts';
import { cutOut, type CoverageMask } from '../raster.ts';
import { f32 } from '../frame-arena.ts';

export interface EyeSide {
  /** Upper and lower lash lines, outer → inner corner. */
  upper: readonly number[];
  lower: readonly number[];
  /** Lid crease ring and the ring under the brow, outer → inner. */
  ring1: readonly number[];
  ring2: readonly number[];
  opening: RegionName;
  shadow: RegionName;
  liner: RegionName;
}

export const EYE_SIDES: readonly EyeSide[] = [
  { upper: EYE_RIGHT_UPPER, lower: EYE_RIGHT_LOWER, ring1: EYE_RIGHT_RING1_UPPER, ring2: EYE_RIGHT_RING2_UPPER, opening: 'eyeRight', shadow: 'eyeshadowRight', liner: 'eyelinerRight' },
  { upper: EYE_LEFT_UPPER, lower: EYE_LEFT_LOWER, ring1: EYE_LEFT_RING1_UPPER, ring2: EYE_LEFT_RING2_UPPER, opening: 'eyeLeft', shadow: 'eyeshadowLeft', liner: 'eyelinerLeft' },
];

export interface EyeFrame {
  /** Inner corner, frame pixels. */
  ix: number;
  iy: number;
  /** Eye width (corner to corner), pixels. */
  width: number;
  /** Unit vector inner → outer corner, and the unit "up" (away from the lower lid, towards the brow). */
  ux: number;
  uy: number;
  nx: number;
  ny: number;
  /** Height of the upper lash line's apex over the corner line, and from it to under the brow, pixels. */
  apex: number;
  lid: number;
}

export function eyeFrame(lm: ReadonlyArray<Point>, side: EyeSide): EyeFrame {
  const outer = lm[side.upper[0]];
  const inner = lm[side.upper[side.upper.length - 1]];
  const width = Math.hypot(outer[0] - inner[0], outer[1] - inner[1]) || 1;
  const ux = (outer[0] - inner[0]) / width;
  const uy = (outer[1] - inner[1]) / width;
  let nx = -uy;
  let ny = ux;
  const lashMid = lm[side.upper[Math.floor(side.upper.length / 2)]];
  const lowMid = lm[side.lower[Math.floor(side.lower.length / 2)]];
  if ((lashMid[0] - lowMid[0]) * nx + (lashMid[1] - lowMid[1]) * ny < 0) {
    nx = -nx;
    ny = -ny;
  }
  const browMid = lm[side.ring2[Math.floor(side.ring2.length / 2)]];
  const apex = Math.max(0, (lashMid[0] - inner[0]) * nx + (lashMid[1] - inner[1]) * ny);
  const lid = Math.max(1, (browMid[0] - lashMid[0]) * nx + (browMid[1] - lashMid[1]) * ny);
  return { ix: inner[0], iy: inner[1], width, ux, uy, nx, ny, apex, lid };
}

/** A copy of `mask` with the eye opening (between the lash lines) cut out: shadow and liner never reach the eye. */
export function withoutOpening(lm: ReadonlyArray<Point>, side: EyeSide, mask: CoverageMask): CoverageMask {
  const alpha = f32(mask.alpha.length);
  alpha.set(mask.alpha);
  cutOut(alpha, mask.rect, regionPolygons(lm, side.opening));
  return { rect: mask.rect, alpha };
}

/** The lid as mesh triangles between the upper lash line and the crease ring (point for point). */
export function lidTriangles(side: EyeSide): Array<readonly [number, number, number]> {
  return side.upper.slice(0, -1).flatMap((a, i) => [
    [a, side.upper[i + 1], side.ring1[i]] as const,
    [side.upper[i + 1], side.ring1[i + 1], side.ring1[i]] as const,
  ]);
}
