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

/**
 * Before/after split: the daemon takes `split` as a fraction of the displayed (mirrored) image's
 * width, and the cover fit crops that image, so the handle's screen x is converted both ways.
 * A centred cover fit spans [dx, dx + dw] on screen whether mirrored or not.
 */
export function screenToSplit(fit: CoverFit, x: number): number {
  return fit.dw > 0 ? (x - fit.dx) / fit.dw : 0.5;
}

export function splitToScreen(fit: CoverFit, split: number): number {
  return fit.dx + split * fit.dw;
}
