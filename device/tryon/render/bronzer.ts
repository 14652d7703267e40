/** Bronzer: warmth where the sun would land: the top of the forehead, the cheekbones swept to the temples, the nose bridge. */
import { paintFaceProduct } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';

export const bronzerRenderer: CategoryRenderer = {
  category: 'bronzer',
  render: (ctx, item) =>
    paintFaceProduct(ctx, item, [
      { region: 'forehead', weight: 0.35 },
      { region: 'cheekLiftedRight', weight: 1 },
      { region: 'cheekLiftedLeft', weight: 1 },
      { region: 'noseBridge', weight: 0.5 },
    ]),
};
