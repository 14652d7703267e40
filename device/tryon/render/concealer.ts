/**
 * Concealer under the eyes: the same frequency-separated cover as foundation (foundation.ts), on the
 * under-eye zones, so dark circles fade by `coverage` while the skin's texture stays.
 */
import { interOcular } from '../../vision/regions.ts';
import { coverLayer, coverSkin, styleCoverage } from './foundation.ts';
import type { CategoryRenderer } from './renderer.ts';

export const concealerRenderer: CategoryRenderer = {
  category: 'concealer',
  render(ctx, item) {
    const layer = coverLayer(item, styleCoverage('concealer', item, 0.7));
    const scale = interOcular(ctx.face.landmarks);
    let drawn = false;
    for (const region of ['underEyeRight', 'underEyeLeft'] as const) {
      const mask = ctx.mask(region);
      if (mask && coverSkin(ctx.frame, mask, layer, scale)) drawn = true;
    }
    return drawn;
  },
};
