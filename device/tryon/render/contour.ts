/** Contour: a cool, darker shade in the hollows under the cheekbones and down the sides of the nose. */
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';

export const contourRenderer: CategoryRenderer = {
  category: 'contour',
  render: (ctx, item) =>
    paintFaceProduct(ctx, item, [
      { region: 'contourRight', weight: 1 },
      { region: 'contourLeft', weight: 1 },
      // The nose is sculpted more lightly than the cheeks.
      { region: 'noseSides', weight: 0.6 },
    ]),
};
