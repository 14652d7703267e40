/**
 * The try-on stage: renders the selected product onto the shopper (the nearest face) only.
 *
 * What is on the lips: the serving catalog's `default` (or the config's `tryon.pin`, see
 * catalog/pin.ts), read through the `CatalogSlot` once per frame, so a committed catalog update
 * changes the shade from the next frame on. Until the per-category renderers replace this stage,
 * only lipstick items are drawn (with the first lipstick renderer, at the shade's opacity x intensity).
 */
import type { MirrorConfig } from '../config/schema.ts';
import type { Frame } from '../core/frame.ts';
import type { Face } from '../vision/face.ts';
import { CatalogSlot, initialItems } from './catalog.ts';
import { renderLipstick } from './lipstick.ts';
import { createOcclusionGate } from './occlusion/index.ts';

export function createTryOnStage(tryon: MirrorConfig['tryon'], catalog: CatalogSlot = new CatalogSlot()): (frame: Frame, faces: Face[]) => string[] {
  return (frame, faces) => {
    const shopper = faces[0];
    if (!shopper) return [];
    const applied: string[] = [];
    // The gate reads the camera's pixels, so it is built before anything is painted.
    const gate = createOcclusionGate(frame, shopper);
    for (const { product, shade, intensity } of initialItems(catalog.current.catalog, tryon.pin)) {
      if (product.category !== 'lipstick') continue;
      if (renderLipstick(frame, shopper, { productId: product.id, colour: shade.hex, opacity: shade.opacity * intensity }, gate)) applied.push(product.id);
    }
    return applied;
  };
}
