/**
 * One RenderContext per frame and face. Each region is rasterised once per frame, on first use, and
 * gated once: `mask(region)` is the region's coverage already multiplied by the occlusion gate
 * (0 over teeth, tongue, fingers, hair, sclera), so every renderer paints through the same mask the
 * tests check, and nobody gates twice. The light is estimated here, before any renderer paints,
 * from the camera's pixels at the mesh's skin points (light.ts): no mask is built unless a renderer
 * asks for it. The face shape (where blush, contour and bronzer go) is the advisor's settled reading
 * when there is one: this frame's mesh alone could flip between two shapes near a boundary.
 */
import { faceGeometry, faceShapeOf, type FaceShape } from '../../advisor/face-shape.ts';
import type { Frame } from '../../core/frame.ts';
import type { Face } from '../../vision/face.ts';
import { interOcular, type RegionName } from '../../vision/regions.ts';
import type { PersonMask } from '../../vision/segmentation.ts';
import type { CoverageMask } from '../raster.ts';
import { polygonMask, regionMask } from '../region-masks.ts';
import type { DrawnLight } from './drawn-light.ts';
import { estimateLight } from './light.ts';
import { newPaintScratch, type PaintScratch } from './paint.ts';
import type { OcclusionGate, RenderContext } from './renderer.ts';
import type { ShapedZone } from './shape-placement.ts';

/**
 * `paintScratch`: the caller's blend buffers, kept across frames (the try-on stage's); default: new ones for this context.
 * `drawnLight`: where the finishes record the light they draw (the try-on stage's reader's), if any.
 */
export function createRenderContext(
  frame: Frame,
  face: Face,
  gate: OcclusionGate,
  person?: PersonMask,
  faceShape?: FaceShape | null,
  paintScratch: PaintScratch = newPaintScratch(),
  drawnLight?: DrawnLight,
): RenderContext {
  const cache = new Map<string, CoverageMask | null>();
  const mask = (region: RegionName | ShapedZone): CoverageMask | null => {
    const key = typeof region === 'string' ? region : region.key;
    let m = cache.get(key);
    if (m === undefined) {
      if (typeof region === 'string') {
        m = regionMask(face.landmarks, region, frame);
        if (m) gate.apply(region, m);
      } else {
        m = polygonMask(region.polygons, Math.max(0.5, interOcular(face.landmarks) * region.feather), frame);
        if (m) gate.apply(region.gateAs, m);
      }
      cache.set(key, m);
    }
    return m;
  };
  const light = estimateLight(frame, face.landmarks);
  const shape = faceShape ?? faceShapeOf(faceGeometry(face.landmarks));
  return { frame, face, mask, gate, light, faceShape: shape, paintScratch, ...(person ? { person } : {}), ...(drawnLight ? { drawnLight } : {}) };
}

