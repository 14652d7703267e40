/**
 * One RenderContext per frame and face. Each region is rasterised once per frame, on first use, and
 * gated once: `mask(region)` is the region's coverage already multiplied by the occlusion gate
 * (0 over teeth, tongue, fingers, hair, sclera), so every renderer paints through the same mask the
 * tests check, and nobody gates twice. The light is estimated here, before any renderer paints,
 * from the camera's pixels at the mesh's skin points (light.ts): no mask is built unless a renderer
 * asks for it.
 */
import type { Frame } from '../../core/frame.ts';
import type { Face } from '../../vision/face.ts';
import type { RegionName } from '../../vision/regions.ts';
import type { PersonMask } from '../../vision/segmentation.ts';
import type { CoverageMask } from '../raster.ts';
import { regionMask } from '../region-masks.ts';
import { estimateLight } from './light.ts';
import type { OcclusionGate, RenderContext } from './renderer.ts';

export function createRenderContext(frame: Frame, face: Face, gate: OcclusionGate, person?: PersonMask): RenderContext {
  const cache = new Map<RegionName, CoverageMask | null>();
  const mask = (region: RegionName): CoverageMask | null => {
    let m = cache.get(region);
    if (m === undefined) {
      m = regionMask(face.landmarks, region, frame);
      if (m) gate.apply(region, m);
      cache.set(region, m);
    }
    return m;
  };
  const light = estimateLight(frame, face.landmarks);
  return { frame, face, mask, gate, light, ...(person ? { person } : {}) };
}

