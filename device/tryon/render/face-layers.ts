/**
 * A face product laid over one or more face regions with the shared perceptual blend (paint.ts) and
 * its finish (material.ts): blush, contour, bronzer and highlighter differ only in where they go and
 * how strongly. Each region is painted with its own statistics (its own mean skin tone), through the
 * context's gated mask. Satin, gloss and metallic finishes get paint.ts's specular term (it follows
 * the face's light); shimmer and holographic also get glints anchored to the mesh (sparkle.ts):
 * one fixed field over the whole face, each region drawing the glints that fall inside its mask,
 * so a glint stays on the same spot of the skin from frame to frame.
 */
import { FACE_OVAL, type RegionName } from '../../vision/regions.ts';
import { hexToLinear } from '../colour.ts';
import { MATERIALS } from './material.ts';
import type { ShapedZone } from './shape-placement.ts';
import { paint } from './paint.ts';
import type { AppliedProduct, RenderContext } from './renderer.ts';
import { drawSparkles, sparkleField, type AnchorTriangle } from './sparkle.ts';

export interface Placement {
  /** A named mesh region, or a zone placed by the face shape (shape-placement.ts). */
  region: RegionName | ShapedZone;
  /** Share of the product's strength in this region (a softer touch on the nose than the cheeks). */
  weight: number;
}

/** Mesh point at the nose tip: the face is anchored as a fan of triangles from it to the oval. */
const NOSE_TIP = 1;
const FACE_FAN: readonly AnchorTriangle[] = FACE_OVAL.map((p, i): AnchorTriangle => [NOSE_TIP, p, FACE_OVAL[(i + 1) % FACE_OVAL.length]]);
/** The oval's area in square inter-ocular distances on a typical face: glint count = density × this. */
const FACE_AREA_IOD2 = 2.2;

export function paintFaceProduct(ctx: RenderContext, item: AppliedProduct, placements: readonly Placement[]): boolean {
  const colour = hexToLinear(item.shade.hex);
  const material = MATERIALS[item.shade.finish];
  const field = material.sparkleDensity > 0 ? sparkleField('face', FACE_FAN, Math.round(material.sparkleDensity * FACE_AREA_IOD2)) : null;
  let drawn = false;
  for (const { region, weight } of placements) {
    const mask = ctx.mask(region);
    if (!mask) continue;
    const strength = item.shade.opacity * item.intensity * weight;
    if (!paint(ctx.frame, mask, { colour, strength, material }, ctx.light, ctx.paintScratch, ctx.drawnLight)) continue;
    drawn = true;
    if (field) drawSparkles(ctx.frame, mask, ctx.face.landmarks, field, material, colour, strength, ctx.light, ctx.face.pose, ctx.drawnLight);
  }
  return drawn;
}
