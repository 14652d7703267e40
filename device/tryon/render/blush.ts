/**
 * Blush on the cheeks, placed for the face's shape (shape-placement.ts): `apples` sits on the cheek
 * apples where the shape's rule puts them, `lifted` is that swept further up towards the temples.
 * Feathered wide: blush has no edge.
 */
import { STYLE_SCHEMAS } from '../catalog/schema.ts';
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';
import { blushPlacements } from './shape-placement.ts';

export const blushRenderer: CategoryRenderer = {
  category: 'blush',
  render(ctx, item) {
    const style = STYLE_SCHEMAS.blush.safeParse(item.shade.style ?? {});
    const lifted = style.success && style.data.placement === 'lifted';
    return paintFaceProduct(ctx, item, blushPlacements(ctx.face.landmarks, ctx.faceShape, lifted));
  },
};
