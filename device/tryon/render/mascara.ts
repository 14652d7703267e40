/**
 * Mascara: darker, thicker, longer lashes along each upper lash line. A lash band hugging the line
 * (just outside the eye opening) plus fixed lash strokes rooted on it, fanning outwards towards the
 * outer corner; `volume` scales the band's thickness and the strokes' length and width. Strokes are
 * placed at fixed positions along the lash line (no per-frame randomness), so they ride with the
 * eye. The mask is gated as the eye area and the eye opening is cut out.
 */
import { hexToLinear } from '../colour.ts';
import { loop } from '../../vision/regions.ts';
import { polygonBounds, type CoverageMask } from '../raster.ts';
import { PIGMENT_MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer, RenderContext } from './renderer.ts';
import { styleOf } from './shade-style.ts';
import { alongLine, hash01, stroke } from './strokes.ts';
import { EYE_SIDES, eyeFrame, withoutOpening, type EyeSide } from './eye-frame.ts';
import { f32 } from '../frame-arena.ts';

/** Lash mask of one eye at `volume` (0..1). */
export function lashMask(ctx: RenderContext, side: EyeSide, volume: number): CoverageMask | null {
  const lm = ctx.face.landmarks;
  const f = eyeFrame(lm, side);
  // Lash line inner → outer, so q = 0 is the inner corner.
  const line = loop(lm, [...side.upper].reverse());
  const longest = f.width * (0.18 + 0.18 * volume);
  const rect = polygonBounds([line], longest + 3, ctx.frame);
  if (!rect) return null;
  const alpha = f32(rect.width * rect.height);
  const band = Math.max(1, f.width * (0.025 + 0.035 * volume));
  for (let i = 0; i + 1 < line.length; i++) {
    const taper = (k: number) => band * (0.4 + (0.6 * k) / (line.length - 1));
    const [x0, y0] = line[i];
    const [x1, y1] = line[i + 1];
    // The band sits on the lid side of the line, half its width out.
    stroke(alpha, rect, x0 + (f.nx * taper(i)) / 2, y0 + (f.ny * taper(i)) / 2, x1 + (f.nx * taper(i + 1)) / 2, y1 + (f.ny * taper(i + 1)) / 2, taper(i), taper(i + 1));
  }
  const count = Math.round(16 + 14 * volume);
  const base = Math.max(0.7, f.width * (0.012 + 0.014 * volume));
  const onLine = alongLine(line);
  for (let k = 0; k < count; k++) {
    const q = Math.min(1, (k + 0.3 + 0.4 * hash01(k)) / count);
    const [px, py] = onLine(q);
    const sweep = 0.15 + 0.9 * q ** 1.5;
    const norm = Math.hypot(1, sweep);
    const length = f.width * (0.09 + 0.09 * volume) * (0.55 + 0.6 * q) * (0.85 + 0.3 * hash01(k + 101));
    const dx = ((f.nx + f.ux * sweep) / norm) * length;
    const dy = ((f.ny + f.uy * sweep) / norm) * length;
    stroke(alpha, rect, px, py, px + dx, py + dy, base, base * 0.25);
  }
  const mask = { rect, alpha };
  ctx.gate.apply(side.liner, mask);
  return withoutOpening(lm, side, mask);
}

export const mascaraRenderer: CategoryRenderer = {
  category: 'mascara',
  render(ctx, item) {
    const { shade } = item;
    const volume = styleOf('mascara', shade).volume;
    // Pigment on a lash is the pigment's own tone: the skin behind a stroke must not show through as texture.
    const layer = { colour: hexToLinear(shade.hex), strength: shade.opacity * item.intensity, material: PIGMENT_MATERIALS[shade.finish] };
    let drawn = false;
    for (const side of EYE_SIDES) {
      const mask = lashMask(ctx, side, volume);
      if (mask && paint(ctx.frame, mask, layer, ctx.light, ctx.paintScratch, ctx.drawnLight)) drawn = true;
    }
    return drawn;
  },
};
