/**
 * Eyeliner along each upper lash line: `winged` is the `eyeliner*` region (thickening to the outer
 * corner, with an upswept wing past it); `thin` is a fine line hugging the lashes with no wing
 * (the same band, a third as thick at the corner). The eye opening is cut out and the mask is gated
 * as the eye area (sclera and iris never take liner).
 */
import { hexToLinear } from '../colour.ts';
import { eyeliner, interOcular } from '../../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type CoverageMask } from '../raster.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer, RenderContext } from './renderer.ts';
import { styleOf } from './shade-style.ts';
import { EYE_SIDES, withoutOpening, type EyeSide } from './eye-frame.ts';

/** Thin liner: thickness at the outer corner (× eye width) and no wing. */
const THIN = { thickness: 0.035, wing: 0 } as const;
/** Feather of the liner's edge, × inter-ocular distance (as the region masks feather the winged one). */
const FEATHER = 0.006;

function thinMask(ctx: RenderContext, side: EyeSide): CoverageMask | null {
  const lm = ctx.face.landmarks;
  const polys = [eyeliner(lm, side.upper, side.lower, THIN.thickness, THIN.wing)];
  const feather = interOcular(lm) * FEATHER;
  const rect = polygonBounds(polys, Math.ceil(feather) * 2 + 1, ctx.frame);
  if (!rect) return null;
  const filled = fillPolygons(polys, rect);
  const mask = { rect, alpha: feather >= 1 ? boxBlur(filled, rect.width, rect.height, feather) : filled };
  ctx.gate.apply(side.liner, mask);
  return mask;
}

export const eyelinerRenderer: CategoryRenderer = {
  category: 'eyeliner',
  render(ctx, item) {
    const { shade } = item;
    const winged = styleOf('eyeliner', shade).style === 'winged';
    const layer = { colour: hexToLinear(shade.hex), strength: shade.opacity * item.intensity, material: MATERIALS[shade.finish] };
    let drawn = false;
    for (const side of EYE_SIDES) {
      const band = winged ? ctx.mask(side.liner) : thinMask(ctx, side);
      if (band && paint(ctx.frame, withoutOpening(ctx.face.landmarks, side, band), layer, ctx.light, ctx.paintScratch, ctx.drawnLight)) drawn = true;
    }
    return drawn;
  },
};
