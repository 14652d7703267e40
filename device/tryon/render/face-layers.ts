/**
 * A face product laid over one or more face regions with the shared perceptual blend (paint.ts) and
 * its finish (material.ts): blush, contour, bronzer and highlighter differ only in where they go and
 * how strongly. Each region is painted with its own statistics (its own mean skin tone), through the
 * context's gated mask.
 */
import type { RegionName } from '../../vision/regions.ts';
import { hexToLinear } from '../colour.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { AppliedProduct, RenderContext } from './renderer.ts';

export interface Placement {
  region: RegionName;
  /** Share of the product's strength in this region (a softer touch on the nose than the cheeks). */
  weight: number;
}

export function paintFaceProduct(ctx: RenderContext, item: AppliedProduct, placements: readonly Placement[]): boolean {
  const colour = hexToLinear(item.shade.hex);
  const material = MATERIALS[item.shade.finish];
  let drawn = false;
  for (const { region, weight } of placements) {
    const mask = ctx.mask(region);
    if (!mask) continue;
    if (paint(ctx.frame, mask, { colour, strength: item.shade.opacity * item.intensity * weight, material }, ctx.light)) drawn = true;
  }
  return drawn;
}
