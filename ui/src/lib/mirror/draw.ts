import type { FaceMessage } from '../../../../device/transport/events.ts';
import type { CoverFit } from '../geometry.ts';

/**
 * Put the image-to-glass transform on `ctx`: scale to cover, centre, and flip horizontally
 * (the camera looks at the shopper; a mirror shows them their own left on their left) — the
 * same placement the mirror canvas gets from its CSS (object-fit: cover; scaleX(-1)).
 * Everything drawn afterwards in image pixels lands where it belongs on the mirrored image.
 */
export function setMirrorTransform(ctx: CanvasRenderingContext2D, fit: CoverFit, glassWidth: number): void {
  ctx.setTransform(-fit.scale, 0, 0, fit.scale, glassWidth - fit.dx, fit.dy);
}

/** Debug overlay: face box and mesh points, in image pixels under the mirror transform. */
export function drawFaces(
  ctx: CanvasRenderingContext2D,
  faces: readonly FaceMessage[],
  fit: CoverFit,
  glassWidth: number,
  devicePixelRatio: number,
): void {
  if (!faces.length || fit.scale <= 0) return;
  setMirrorTransform(ctx, fit, glassWidth);
  const px = devicePixelRatio / fit.scale; // one CSS pixel, in image pixels
  ctx.lineWidth = 1.5 * px;
  for (const face of faces) {
    if (!face?.box || !Array.isArray(face.landmarks)) continue; // debug aid: never let bad data stop the paint
    const { x, y, width, height } = face.box;
    ctx.strokeStyle = 'rgba(120, 230, 255, 0.9)';
    ctx.strokeRect(x, y, width, height);
    ctx.fillStyle = 'rgba(255, 170, 190, 0.85)';
    const r = 1.2 * px;
    for (const point of face.landmarks) if (point) ctx.fillRect(point[0] - r, point[1] - r, 2 * r, 2 * r);
  }
}
