/**
 * Bronzer: warmth where the sun would land: the cheekbones swept out towards the ears, the top of the
 * forehead, the nose bridge; the face's shape adds temples, jaw or hairline (shape-placement.ts).
 */
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';
import { bronzerPlacements } from './shape-placement.ts';

export const bronzerRenderer: CategoryRenderer = {
  category: 'bronzer',
  render: (ctx, item) => paintFaceProduct(ctx, item, bronzerPlacements(ctx.face.landmarks, ctx.faceShape)),
};
