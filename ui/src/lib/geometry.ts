/** Where a camera frame lands on the glass: scaled to cover the screen, centred, mirrored. */
export interface CoverFit {
  /** Image pixels to screen pixels. */
  scale: number;
  /** Top-left of the scaled image in (unmirrored) screen pixels; negative where it overflows. */
  dx: number;
  dy: number;
  dw: number;
  dh: number;
}

/** Scale `src` to cover `dst` entirely (cropping the overflow equally on both sides). */
export function coverFit(srcW: number, srcH: number, dstW: number, dstH: number): CoverFit {
  if (!(srcW > 0 && srcH > 0 && dstW > 0 && dstH > 0)) return { scale: 0, dx: 0, dy: 0, dw: 0, dh: 0 };
  const scale = Math.max(dstW / srcW, dstH / srcH);
  const dw = srcW * scale;
  const dh = srcH * scale;
  return { scale, dx: (dstW - dw) / 2, dy: (dstH - dh) / 2, dw, dh };
}

/**
 * Image pixel to screen pixel, mirrored horizontally as a real mirror is.
 * Matches drawing the image under `setTransform(-1, 0, 0, 1, dstW, 0)` at `fit`.
 */
export function imageToScreen(fit: CoverFit, dstW: number, x: number, y: number): [number, number] {
  return [dstW - (fit.dx + x * fit.scale), fit.dy + y * fit.scale];
}
