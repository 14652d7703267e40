/**
 * Highlighter on the high points that catch light: the top of the cheekbones, the nose bridge and
 * the brow bone. The finish (material.ts: satin sheen, metallic, shimmer) follows the face's own light.
 */
import { paintFaceProduct, type Placement } from './face-layers.ts';
import type { CategoryRenderer } from './renderer.ts';

export const HIGHLIGHTER_PLACEMENTS: readonly Placement[] = [
  { region: 'cheekboneRight', weight: 0.8 },
  { region: 'cheekboneLeft', weight: 0.8 },
  { region: 'noseBridge', weight: 0.5 },
  { region: 'browBoneRight', weight: 0.4 },
  { region: 'browBoneLeft', weight: 0.4 },
];

export const highlighterRenderer: CategoryRenderer = {
  category: 'highlighter',
  render: (ctx, item) => paintFaceProduct(ctx, item, HIGHLIGHTER_PLACEMENTS),
};
