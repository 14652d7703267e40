/**
 * Hair (a fringe, a lock across the cheek) over the skin that foundation, blush, contour and
 * highlighter paint: the mesh says nothing about it, so a colour model of this frame's skin, sampled
 * from the middle of the face (cheeks and nose bridge, where hair rarely falls), gates each pixel
 * by how unlike that skin it is. Lightness is allowed to vary the most (the face's own shading and
 * contour shadows are skin); hair differs in chroma and, mostly, by much more lightness.
 */
import { regionPolygons, type Point } from '../../vision/regions.ts';
import { fillPolygons, polygonBounds, type MaskRect } from '../raster.ts';
import { distance, ramp, sampleModel, type ColourModel } from './colour-model.ts';
import type { LabPlane } from './lab-plane.ts';

const SKIN_FLOOR = { L: 10, a: 3, b: 3 };
/** Normalised distance from the skin model: at `lo` still skin, at `hi` surely not. */
const NOT_SKIN = { lo: 3, hi: 5 } as const;

export function faceSkinModel(lab: LabPlane, landmarks: ReadonlyArray<Point>): ColourModel | null {
  const polys = [...regionPolygons(landmarks, 'cheeks'), ...regionPolygons(landmarks, 'noseBridge')];
  const rect = polygonBounds(polys, 0, { width: lab.rect.x + lab.rect.width, height: lab.rect.y + lab.rect.height });
  // Cheeks and nose bridge do not overlap: the even-odd fill of all three is their union.
  return rect ? sampleModel(lab, { rect, alpha: fillPolygons(polys, rect) }, SKIN_FLOOR) : null;
}

/**
 * Multiplies `vis` (over `rect`) by how much each pixel looks like this face's skin. Evaluated once
 * per 2x2 block: the products gated here are diffuse (blush, contour, foundation), and the face's
 * largest regions would otherwise cost the most.
 */
export function applySkinGate(lab: LabPlane, skin: ColourModel, rect: MaskRect, vis: Float32Array): void {
  const data = lab.data();
  const { width, height } = rect;
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      if (!lab.has(rect.x + x, rect.y + y)) continue;
      const keep = 1 - ramp(distance(skin, data, lab.offset(rect.x + x, rect.y + y)), NOT_SKIN.lo, NOT_SKIN.hi);
      if (keep === 1) continue;
      for (let by = y; by < Math.min(height, y + 2); by++) for (let bx = x; bx < Math.min(width, x + 2); bx++) vis[by * width + bx] *= keep;
    }
  }
}
