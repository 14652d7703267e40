/**
 * The try-on stage: renders the selected product onto the shopper (the nearest face) only.
 *
 * What is on the lips: the serving catalog's default product (device/tryon/catalog.ts), read
 * through the `CatalogSlot` once per frame, so a committed catalog update changes the shade from
 * the next frame on. `tryon.lipstick` in the config, when set, pins one shade instead (a demo or a
 * photo shoot): it wins over the catalog, and catalog updates then change what is reported
 * (/healthz, telemetry) but not what is rendered. Left unset (the default), the catalog decides.
 */
import type { MirrorConfig } from '../config/schema.ts';
import type { Frame } from '../core/frame.ts';
import type { Face } from '../vision/face.ts';
import { CatalogSlot } from './catalog.ts';
import { renderLipstick, type LipstickShade } from './lipstick.ts';

export function createTryOnStage(tryon: MirrorConfig['tryon'], catalog: CatalogSlot = new CatalogSlot()): (frame: Frame, faces: Face[]) => string[] {
  const pinned: LipstickShade | undefined = tryon.lipstick;
  return (frame, faces) => {
    const shopper = faces[0];
    if (!shopper) return [];
    const shade = pinned ?? catalog.current.defaultShade;
    return renderLipstick(frame, shopper, shade) ? [shade.productId] : [];
  };
}
