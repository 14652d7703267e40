/**
 * Lip liner: a line along the outer lip contour (the mesh's outer loop, smoothed), `width` × the
 * mouth width wide, centred on the lip border. The line lies half on lip and half on skin, so each
 * half is gated as the surface it lies on: the lip side by the lips' gate (mouth interior, fingers),
 * the skin side by the face skin's (hair); the line stops at the mouth opening.
 */
import { hexToLinear } from '../colour.ts';
import { LIPS_INNER, LIPS_OUTER, loop } from '../../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type CoverageMask } from '../raster.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer } from './renderer.ts';
import { styleOf } from './shade-style.ts';
import { smoothLoop, stroke } from './strokes.ts';
import { f32 } from '../frame-arena.ts';

/** Mask of a line of `widthPx` along the smoothed outer lip loop, gated per surface. */
export function linerMask(ctx: Parameters<CategoryRenderer['render']>[0], widthPx: number): CoverageMask | null {
  const outer = loop(ctx.face.landmarks, LIPS_OUTER);
  const line = smoothLoop(outer, 4);
  const rect = polygonBounds([line], widthPx + 2, ctx.frame);
  if (!rect) return null;
  let alpha: Float32Array = f32(rect.width * rect.height);
  for (let i = 0; i < line.length; i++) {
    const [x0, y0] = line[i];
    const [x1, y1] = line[(i + 1) % line.length];
    stroke(alpha, rect, x0, y0, x1, y1, widthPx, widthPx);
  }
  // A pencil line is soft-edged, a little.
  if (widthPx >= 4) alpha = boxBlur(alpha, rect.width, rect.height, widthPx / 8);
  const onLip = fillPolygons([outer], rect);
  const opening = fillPolygons([loop(ctx.face.landmarks, LIPS_INNER)], rect);
  // A wide line on thin lips would reach the mouth opening: it stops at the inner lip line.
  const lipSide: CoverageMask = { rect, alpha: f32(alpha.length) };
  const skinSide: CoverageMask = { rect, alpha: f32(alpha.length) };
  for (let i = 0; i < alpha.length; i++) {
    const lip = Math.min(1, onLip[i]);
    lipSide.alpha[i] = alpha[i] * Math.max(0, lip - Math.min(1, opening[i]));
    skinSide.alpha[i] = alpha[i] * (1 - lip);
  }
  ctx.gate.apply('lipsOuter', lipSide);
  ctx.gate.apply('faceOval', skinSide);
  for (let i = 0; i < alpha.length; i++) alpha[i] = lipSide.alpha[i] + skinSide.alpha[i];
  return { rect, alpha };
}

export const lipLinerRenderer: CategoryRenderer = {
  category: 'lipLiner',
  render(ctx, item) {
    const lm = ctx.face.landmarks;
    const mouthWidth = Math.hypot(lm[291][0] - lm[61][0], lm[291][1] - lm[61][1]);
    const mask = linerMask(ctx, Math.max(0.8, styleOf('lipLiner', item.shade).width * mouthWidth));
    if (!mask) return false;
    const { shade } = item;
    return paint(ctx.frame, mask, { colour: hexToLinear(shade.hex), strength: shade.opacity * item.intensity, material: MATERIALS[shade.finish] }, ctx.light, ctx.paintScratch, ctx.drawnLight);
  },
};
