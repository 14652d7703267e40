/**
 * Contour: a cool, darker shade in the hollows under the cheekbones and down the sides of the nose,
 * and where the face's shape asks for it (temples, jaw corners, hairline, chin: shape-placement.ts).
 */
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';
import { contourPlacements } from './shape-placement.ts';

export const contourRenderer: CategoryRenderer = {
  category: 'contour',
  render: (ctx, item) => paintFaceProduct(ctx, item, contourPlacements(ctx.face.landmarks, ctx.faceShape)),
};
