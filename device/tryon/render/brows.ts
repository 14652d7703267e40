/**
 * Brows, two modes. `tint` recolours the hair that is there: a pixel's share of hair is how much
 * darker it is than the skin showing through the brow, so skin between the hairs keeps its colour. `fill` draws hair strokes into the brow shape (fixed positions in the brow's own
 * frame: rising at the inner end, sweeping outwards along the arch) plus a light powder where the
 * brow is sparse. The brow mask comes from the context (already gated) and is read-only.
 */
import * as colour from '../colour.ts';
import { hexToLinear } from '../colour.ts';
import { BROW_LEFT, BROW_RIGHT, interOcular, type Point } from '../../vision/regions.ts';
import type { CoverageMask } from '../raster.ts';
import { MATERIALS, PIGMENT_MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer, RenderContext } from './renderer.ts';
import { styleOf } from './shade-style.ts';
import { hash01, stroke } from './strokes.ts';
import { f32 } from '../frame-arena.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

const SIDES = [
  { region: 'browRight', outline: BROW_RIGHT },
  { region: 'browLeft', outline: BROW_LEFT },
] as const;

/** Hair strokes per brow, and the powder under them where the brow is sparse. */
const HAIRS = 70;
const POWDER = 0.35;

const BINS = 512;
const lumAt = (data: Uint8Array, p: number) => 0.2126 * SRGB_TO_LINEAR[data[p]] + 0.7152 * SRGB_TO_LINEAR[data[p + 1]] + 0.0722 * SRGB_TO_LINEAR[data[p + 2]];

/**
 * How much of each pixel is hair: its darkness against the skin showing through the brow (the
 * region's 85th luminance percentile): 15 % darker → 0, 60 % darker → 1.
 */
export function hairWeight(ctx: RenderContext, mask: CoverageMask): Float32Array {
  const { data, width } = ctx.frame;
  const { rect, alpha } = mask;
  const lum = f32(rect.width * rect.height);
  const hist = new Uint32Array(BINS);
  let n = 0;
  for (let y = 0; y < rect.height; y++)
    for (let x = 0; x < rect.width; x++) {
      const i = y * rect.width + x;
      lum[i] = lumAt(data, ((rect.y + y) * width + rect.x + x) * 3);
      if (alpha[i] < 0.3) continue;
      hist[Math.min(BINS - 1, Math.floor(lum[i] * BINS))]++;
      n++;
    }
  let seen = 0;
  let bin = 0;
  while (bin < BINS - 1 && seen + hist[bin] < 0.85 * n) seen += hist[bin++];
  const skin = Math.max(1e-3, (bin + 0.5) / BINS);
  for (let i = 0; i < lum.length; i++) lum[i] = Math.min(1, Math.max(0, (0.85 - lum[i] / skin) / 0.45));
  return lum;
}

/** The brow's upper edge (outer → inner) and lower edge (outer → inner) from its 10-point outline. */
function edges(lm: ReadonlyArray<Point>, outline: readonly number[]): { upper: Point[]; lower: Point[] } {
  return { upper: outline.slice(0, 5).map((i) => lm[i]), lower: outline.slice(5).reverse().map((i) => lm[i]) };
}

/** Hair strokes into a fresh coverage buffer over `mask.rect`, times the (gated) brow mask. */
function strokeMask(lm: ReadonlyArray<Point>, outline: readonly number[], mask: CoverageMask, hair: Float32Array): CoverageMask {
  const { upper, lower } = edges(lm, outline);
  const at = (t: number, s: number): [number, number] => {
    const k = Math.min(3, Math.floor(t * 4));
    const f = t * 4 - k;
    const lerp = (a: Point, b: Point, i: 0 | 1) => a[i] + (b[i] - a[i]) * f;
    const ux = lerp(upper[k], upper[k + 1], 0);
    const uy = lerp(upper[k], upper[k + 1], 1);
    const lx = lerp(lower[k], lower[k + 1], 0);
    const ly = lerp(lower[k], lower[k + 1], 1);
    return [lx + (ux - lx) * s, ly + (uy - ly) * s];
  };
  const width = Math.max(0.8, interOcular(lm) * 0.009);
  const alpha = f32(mask.alpha.length);
  for (let k = 0; k < HAIRS; k++) {
    // t: 0 at the outer tail, 1 at the inner head. Hairs at the head rise; along the arch they sweep to the tail.
    const t = hash01(k * 3 + 1);
    const s = 0.1 + 0.8 * hash01(k * 3 + 2);
    const [x0, y0] = at(t, s);
    const [x1, y1] = t > 0.8 ? at(t - 0.03, Math.min(1, s + 0.55)) : at(Math.max(0, t - 0.11), Math.min(1, s + 0.3));
    stroke(alpha, mask.rect, x0, y0, x1, y1, width, width * 0.4, 0.75);
  }
  for (let i = 0; i < alpha.length; i++) alpha[i] = mask.alpha[i] * Math.max(alpha[i], POWDER * (1 - hair[i]));
  return { rect: mask.rect, alpha };
}

/** The brow mask times each pixel's share of hair (tint recolours only the hair that is there). */
function tinted(region: CoverageMask, hair: Float32Array): CoverageMask {
  const alpha = f32(region.alpha.length);
  for (let i = 0; i < alpha.length; i++) alpha[i] = region.alpha[i] * hair[i];
  return { rect: region.rect, alpha };
}

export const browsRenderer: CategoryRenderer = {
  category: 'brows',
  render(ctx, item) {
    const { shade } = item;
    const mode = styleOf('brows', shade).mode;
    const colour = hexToLinear(shade.hex);
    const strength = shade.opacity * item.intensity;
    let drawn = false;
    for (const side of SIDES) {
      const region = ctx.mask(side.region);
      if (!region) continue;
      const hair = hairWeight(ctx, region);
      const mask = mode === 'tint' ? tinted(region, hair) : strokeMask(ctx.face.landmarks, side.outline, region, hair);
      // Drawn hairs carry the pigment's own tone; tinted hair keeps its own shading.
      const layer = { colour, strength, material: (mode === 'tint' ? MATERIALS : PIGMENT_MATERIALS)[shade.finish] };
      if (paint(ctx.frame, mask, layer, ctx.light, ctx.paintScratch, ctx.drawnLight)) drawn = true;
    }
    return drawn;
  },
};
