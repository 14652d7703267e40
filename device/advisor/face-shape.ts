/**
 * Face shape (oval, round, square, heart, long) from the 468-point mesh. Where blush, contour and
 * bronzer go for each: tryon/render/shape-placement.ts.
 *
 * Four measures, in 3D (x, y and the mesh's relative depth z, all in image pixels) so a turned head
 * does not narrow the face:
 *   length    forehead top of the mesh (10) → chin (152)
 *   cheeks    cheekbone to cheekbone (234 ↔ 454), the face's widest line
 *   jaw       jaw angle to jaw angle (172 ↔ 397)
 *   forehead  temple to temple above the brows (54 ↔ 284)
 * The mesh's oval stops below the hairline, so `length` is shorter than a tape measure's; the
 * thresholds below are for these mesh points, not for the beauty guides' hairline-to-chin length.
 *
 * Rules, first that holds (after the usual beauty-guide definitions):
 *   long    length / cheeks ≥ 1.30  (the face clearly longer than wide)
 *   heart   forehead / jaw ≥ 1.20   (wide brow, narrow pointed chin)
 *   square  jaw / cheeks ≥ 0.84 and length / cheeks < 1.22  (jaw nearly as wide as the cheekbones)
 *   round   length / cheeks < 1.12  (nearly as wide as long, soft jaw)
 *   oval    otherwise
 * The thresholds were placed around the measures of the six face-api demo photos (length / cheeks
 * 1.10-1.32, jaw / cheeks 0.78-0.80, forehead / jaw 1.08-1.15): a plausible split, not one
 * validated against labelled face shapes (none with a licence we could use was found).
 */
import type { Point } from '../vision/regions.ts';

export const FACE_SHAPES = ['oval', 'round', 'square', 'heart', 'long'] as const;
export type FaceShape = (typeof FACE_SHAPES)[number];

export interface FaceGeometry {
  lengthToCheeks: number;
  jawToCheeks: number;
  foreheadToJaw: number;
}

const d3 = (a: Point, b: Point): number => Math.hypot(a[0] - b[0], a[1] - b[1], (a[2] ?? 0) - (b[2] ?? 0));

export function faceGeometry(lm: ReadonlyArray<Point>): FaceGeometry {
  const length = d3(lm[10], lm[152]);
  const cheeks = d3(lm[234], lm[454]);
  const jaw = d3(lm[172], lm[397]);
  const forehead = d3(lm[54], lm[284]);
  return { lengthToCheeks: length / cheeks, jawToCheeks: jaw / cheeks, foreheadToJaw: forehead / jaw };
}

export function faceShapeOf(g: FaceGeometry): FaceShape {
  if (g.lengthToCheeks >= 1.3) return 'long';
  if (g.foreheadToJaw >= 1.2) return 'heart';
  if (g.jawToCheeks >= 0.84 && g.lengthToCheeks < 1.22) return 'square';
  if (g.lengthToCheeks < 1.12) return 'round';
  return 'oval';
}
