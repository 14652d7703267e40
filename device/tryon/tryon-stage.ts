/** The try-on stage: renders the selected products onto the shopper (the nearest face) only. */
import type { MirrorConfig } from '../config/schema.ts';
import type { Frame } from '../core/frame.ts';
import type { Face } from '../vision/face.ts';
import { renderLipstick } from './lipstick.ts';

export function createTryOnStage(tryon: MirrorConfig['tryon']): (frame: Frame, faces: Face[]) => string[] {
  const shade = tryon.lipstick;
  return (frame, faces) => {
    const shopper = faces[0];
    return shopper && renderLipstick(frame, shopper, shade) ? [shade.productId] : [];
  };
}
