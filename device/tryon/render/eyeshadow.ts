/**
 * Eyeshadow on each eye's shadow region (upper lash line up to under the brow), never on the eye
 * opening (the context's gate takes sclera and iris out; the opening itself is cut out here too,
 * since the region's feather reaches across the lash line). Patterns: `lid` (the shade's colour
 * over the whole lid), `lidCrease` (+ `creaseHex` in the crease), `lidCreaseOuter` (+ `outerHex`
 * on the outer corner, the classic V). Zones are in the eye's own frame (eye-frame.ts). Shimmer,
 * metallic and holographic glints sit on the lid's mesh triangles.
 */
import { hexToLinear } from '../colour.ts';
import type { CoverageMask } from '../raster.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer } from './renderer.ts';
import { shiftedHex, styleOf } from './shade-style.ts';
import { drawSparkles, sparkleField } from './sparkle.ts';
import { EYE_SIDES, eyeFrame, lidTriangles, withoutOpening, type EyeFrame } from './eye-frame.ts';
import { f32 } from '../frame-arena.ts';

/** Lid area (lash line to crease) in square inter-ocular distances: glint count = density × this. */
const LID_AREA_IOD2 = 0.05;
const LID_TRIANGLES = EYE_SIDES.map(lidTriangles);

/**
 * Crease and outer-corner weights over the mask's rect, from the eye's frame (eye-frame.ts
 * eyeCoords, inlined: no per-pixel allocation), where the mask covers anything (0 elsewhere: the
 * blend reads a weight only where it paints). The outer corner's only when `withOuter` (the
 * lidCreaseOuter pattern): the other patterns never read it.
 */
export function shadowZones(f: EyeFrame, mask: CoverageMask, withOuter = true): { crease: Float32Array; outer: Float32Array | null } {
  const { rect, alpha } = mask;
  const crease = f32(rect.width * rect.height);
  const outer = withOuter ? f32(rect.width * rect.height) : null;
  for (let y = 0; y < rect.height; y++) {
    const dy = rect.y + y + 0.5 - f.iy;
    for (let x = 0; x < rect.width; x++) {
      const i = y * rect.width + x;
      if (alpha[i] <= 0) continue;
      const dx = rect.x + x + 0.5 - f.ix;
      const t = (dx * f.ux + dy * f.uy) / f.width;
      const tc = t < 0 ? 0 : t > 1 ? 1 : t;
      const s = (dx * f.nx + dy * f.ny - 4 * tc * (1 - tc) * f.apex) / f.lid;
      // The crease (the mesh's first ring above the eye lies at s ≈ 0.6-0.8), blended both ways.
      const c = (s - 0.8) / 0.25;
      crease[i] = c * c > 16 ? 0 : Math.exp(-(c * c));
      // The outer third, strongest at the corner, fading up towards the brow bone.
      if (outer) outer[i] = Math.min(1, Math.max(0, (t - 0.55) / 0.3)) * Math.min(1, Math.max(0, (1.3 - s) / 0.4));
    }
  }
  return { crease, outer };
}

export const eyeshadowRenderer: CategoryRenderer = {
  category: 'eyeshadow',
  render(ctx, item) {
    const { shade } = item;
    const style = styleOf('eyeshadow', shade);
    const material = MATERIALS[shade.finish];
    const colour = hexToLinear(shade.hex);
    const strength = shade.opacity * item.intensity;
    const lm = ctx.face.landmarks;
    let drawn = false;
    for (const [k, side] of EYE_SIDES.entries()) {
      const region = ctx.mask(side.shadow);
      if (!region) continue;
      const mask = withoutOpening(lm, side, region);
      const zones = style.pattern === 'lid' ? null : shadowZones(eyeFrame(lm, side), mask, style.pattern === 'lidCreaseOuter');
      const overlays = zones
        ? [
            { colour: hexToLinear(style.creaseHex ?? shiftedHex(shade.hex, -0.12)), weight: zones.crease },
            ...(zones.outer ? [{ colour: hexToLinear(style.outerHex ?? shiftedHex(shade.hex, -0.22)), weight: zones.outer }] : []),
          ]
        : [];
      if (!paint(ctx.frame, mask, { colour, strength, material, overlays }, ctx.light, ctx.paintScratch, ctx.drawnLight)) continue;
      drawn = true;
      if (material.sparkleDensity > 0) {
        const field = sparkleField(side.shadow, LID_TRIANGLES[k], Math.round(material.sparkleDensity * LID_AREA_IOD2));
        drawSparkles(ctx.frame, mask, lm, field, material, colour, strength, ctx.light, ctx.face.pose, ctx.drawnLight);
      }
    }
    return drawn;
  },
};
