/**
 * Blush on the cheeks: `apples` sits round on the cheek apples, `lifted` is swept up towards the
 * temples (regions cheeks / cheeksLifted, feathered wide: blush has no edge).
 */
import { STYLE_SCHEMAS } from '../catalog/schema.ts';
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';

export const blushRenderer: CategoryRenderer = {
  category: 'blush',
  render(ctx, item) {
    const style = STYLE_SCHEMAS.blush.safeParse(item.shade.style ?? {});
    const lifted = style.success && style.data.placement === 'lifted';
    return paintFaceProduct(
      ctx,
      item,
      lifted
        ? [
            { region: 'cheekLiftedRight', weight: 1 },
            { region: 'cheekLiftedLeft', weight: 1 },
          ]
        : [
            { region: 'cheekRight', weight: 1 },
            { region: 'cheekLeft', weight: 1 },
          ],
    );
  },
};
