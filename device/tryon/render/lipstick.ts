/**
 * Lipstick: every finish (material.ts) and style (full, ombre, two-tone) on the `lips` region (the
 * outer lip loop minus the mouth opening, gated by the occlusion gate in the context: never on
 * teeth, tongue or fingers). Ombre lays `secondHex` on the centre of the mouth fading to `hex` at
 * the edges; two-tone lays `secondHex` on the lower lip. Both are measured in the mouth's own frame
 * (along the corner-to-corner axis and across the lip line), so they follow a tilted head.
 * Shimmer and holographic glints sit on a fixed set of points between the outer and inner lip loops.
 */
import { hexToLinear } from '../colour.ts';
import { LIPS_INNER, LIPS_OUTER, type Point } from '../../vision/regions.ts';
import type { CoverageMask } from '../raster.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer } from './renderer.ts';
import { shiftedHex, styleOf } from './shade-style.ts';
import { drawSparkles, sparkleField, type AnchorTriangle } from './sparkle.ts';
import { f32 } from '../frame-arena.ts';

/** The lips as triangles between the outer and inner loops (their points correspond one to one). */
export const LIP_TRIANGLES: readonly AnchorTriangle[] = LIPS_OUTER.flatMap((o, i): AnchorTriangle[] => {
  const j = (i + 1) % LIPS_OUTER.length;
  return [
    [o, LIPS_OUTER[j], LIPS_INNER[i]],
    [LIPS_OUTER[j], LIPS_INNER[j], LIPS_INNER[i]],
  ];
});
/** Lip area in square inter-ocular distances on a typical face: glint count = density × this. */
const LIPS_AREA_IOD2 = 0.085;

/** Lip line (between the lips): mouth corners and the midpoints of facing inner-lip points, right → left corner. */
const LINE_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [61, 61],
  [191, 95],
  [80, 88],
  [81, 178],
  [82, 87],
  [13, 14],
  [312, 317],
  [311, 402],
  [310, 318],
  [415, 324],
  [291, 291],
];

/**
 * Per pixel of the mask's rect where the mask covers anything (0 elsewhere: the blend reads a
 * weight only where it paints): ombre weight (1 at the centre of the lip line, 0 at the lips'
 * edge) or two-tone weight (1 on the lower lip), in the mouth's own frame.
 */
export function lipStyleWeight(lm: ReadonlyArray<Point>, mask: CoverageMask, style: 'ombre' | 'twoTone'): Float32Array {
  const { rect, alpha } = mask;
  const [rx, ry] = lm[61];
  const [lx, ly] = lm[291];
  const halfWidth = Math.hypot(lx - rx, ly - ry) / 2 || 1;
  const ux = (lx - rx) / (2 * halfWidth);
  const uy = (ly - ry) / (2 * halfWidth);
  const cx = (rx + lx) / 2;
  const cy = (ry + ly) / 2;
  // Across-axis (towards the chin) and the lip line's offset along it at each point of the axis.
  const nx = -uy;
  const ny = ux;
  const line = LINE_PAIRS.map(([a, b]) => {
    const px = (lm[a][0] + lm[b][0]) / 2 - cx;
    const py = (lm[a][1] + lm[b][1]) / 2 - cy;
    return [px * ux + py * uy, px * nx + py * ny] as const;
  });
  const lipHeight = Math.abs((lm[17][0] - lm[0][0]) * nx + (lm[17][1] - lm[0][1]) * ny) || 1;
  const out = f32(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      if (alpha[y * rect.width + x] <= 0) continue;
      const px = rect.x + x + 0.5 - cx;
      const py = rect.y + y + 0.5 - cy;
      const a = px * ux + py * uy;
      const across = px * nx + py * ny - lineAt(line, a);
      out[y * rect.width + x] =
        style === 'ombre'
          ? Math.exp(-0.5 * ((a / (0.55 * halfWidth)) ** 2 + (across / (0.28 * lipHeight)) ** 2))
          : Math.min(1, Math.max(0, 0.5 + across / (0.06 * lipHeight)));
    }
  }
  return out;
}

/** The lip line's across-offset at axis position `a` (linear between its points, flat past the corners). */
function lineAt(line: ReadonlyArray<readonly [number, number]>, a: number): number {
  if (a <= line[0][0]) return line[0][1];
  for (let k = 1; k < line.length; k++) {
    const [a1, b1] = line[k];
    if (a <= a1) {
      const [a0, b0] = line[k - 1];
      return a1 > a0 ? b0 + ((a - a0) / (a1 - a0)) * (b1 - b0) : b1;
    }
  }
  return line[line.length - 1][1];
}

export const lipstickRenderer: CategoryRenderer = {
  category: 'lipstick',
  render(ctx, item) {
    const mask = ctx.mask('lips');
    if (!mask) return false;
    const { shade } = item;
    const style = styleOf('lipstick', shade);
    const material = MATERIALS[shade.finish];
    const colour = hexToLinear(shade.hex);
    const strength = shade.opacity * item.intensity;
    const lm = ctx.face.landmarks;
    const overlays =
      style.style === 'full'
        ? []
        : [{ colour: hexToLinear(style.secondHex ?? shiftedHex(shade.hex, 0.12)), weight: lipStyleWeight(lm, mask, style.style) }];
    // Lit from above, lips shine on the full middle of the lower lip: a third of the way from the
    // corners' line down to its outer edge (outer-contour points: steadier than the inner lip line).
    const lobeCentre = [(lm[61][0] + lm[291][0]) / 2, ((lm[61][1] + lm[291][1]) / 2) * (2 / 3) + lm[17][1] / 3] as const;
    if (!paint(ctx.frame, mask, { colour, strength, material, overlays, lobeCentre }, ctx.light, ctx.paintScratch, ctx.drawnLight)) return false;
    if (material.sparkleDensity > 0) {
      const field = sparkleField('lips', LIP_TRIANGLES, Math.round(material.sparkleDensity * LIPS_AREA_IOD2));
      drawSparkles(ctx.frame, mask, lm, field, material, colour, strength, ctx.light, ctx.face.pose, ctx.drawnLight);
    }
    return true;
  },
};
