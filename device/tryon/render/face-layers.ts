/**
 * A face product laid over one or more face regions with the shared perceptual blend (paint.ts) and
 * its finish (material.ts): blush, contour, bronzer and highlighter differ only in where they go and
 * how strongly. Each region is painted with its own statistics (its own mean skin tone), through the
 * context's gated mask. Satin, gloss and metallic finishes get paint.ts's specular term (it follows
 * the face's light); shimmer and holographic also get glints anchored to the mesh (sparkle.ts):
 * one fixed field over the whole face, each region drawing the glints that fall inside its mask,
 * so a glint stays on the same spot of the skin from frame to frame.
 */
import type { Frame } from '../../core/frame.ts';
import { FACE_OVAL, interOcular, type RegionName } from '../../vision/regions.ts';
import * as colour from '../colour.ts';
import { hexToLinear } from '../colour.ts';
import { currentKernels, f32, i32 } from '../frame-arena.ts';
import type { Kernels } from '../simd/kernels.ts';
import type { CoverageMask } from '../raster.ts';
import type { DrawnLight } from './drawn-light.ts';
import { MATERIALS } from './material.ts';
import type { ShapedZone } from './shape-placement.ts';
import * as paintModule from './paint.ts';
import { shineAt, specularShape, toneTable, type PaintLayer, type Rgb } from './paint.ts';
import type { AppliedProduct, LightEstimate, RenderContext } from './renderer.ts';
import * as skinGrid from './skin-grid.ts';
import { blockSums, cellGrid, coveredSpans, type CellGrid, type Spans } from './skin-grid.ts';
import { drawSparkles, sparkleField, type AnchorTriangle } from './sparkle.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;
const LINEAR_TO_SRGB = colour.LINEAR_TO_SRGB;
const LINEAR_STEPS = colour.LINEAR_STEPS;
const TONE_STEPS = paintModule.TONE_STEPS;
const TONE_SCALE = paintModule.TONE_SCALE;
const MIN_COVERAGE = skinGrid.MIN_COVERAGE;

export interface Placement {
  /** A named mesh region, or a zone placed by the face shape (shape-placement.ts). */
  region: RegionName | ShapedZone;
  /** Share of the product's strength in this region (a softer touch on the nose than the cheeks). */
  weight: number;
}

/** Mesh point at the nose tip: the face is anchored as a fan of triangles from it to the oval. */
const NOSE_TIP = 1;
const FACE_FAN: readonly AnchorTriangle[] = FACE_OVAL.map((p, i): AnchorTriangle => [NOSE_TIP, p, FACE_OVAL[(i + 1) % FACE_OVAL.length]]);
/** The oval's area in square inter-ocular distances on a typical face: glint count = density × this. */
const FACE_AREA_IOD2 = 2.2;

export function paintFaceProduct(ctx: RenderContext, item: AppliedProduct, placements: readonly Placement[]): boolean {
  const colour = hexToLinear(item.shade.hex);
  const material = MATERIALS[item.shade.finish];
  const field = material.sparkleDensity > 0 ? sparkleField('face', FACE_FAN, Math.round(material.sparkleDensity * FACE_AREA_IOD2)) : null;
  const faceScale = interOcular(ctx.face.landmarks);
  let drawn = false;
  for (const { region, weight } of placements) {
    const mask = ctx.mask(region);
    if (!mask) continue;
    const strength = item.shade.opacity * item.intensity * weight;
    if (!blendOnGrid(ctx.frame, mask, { colour, strength, material }, ctx.light, faceScale, ctx.drawnLight)) continue;
    drawn = true;
    if (field) drawSparkles(ctx.frame, mask, ctx.face.landmarks, field, material, colour, strength, ctx.light, ctx.face.pose, ctx.drawnLight);
  }
  return drawn;
}

/**
 * paint.ts's blend with the region's statistics and the finish's shine taken on a reduced grid
 * (skin-grid.ts): the region's mean colour from the grid's coverage-weighted block sums (a quarter
 * of the pixels), the shine per cell (the lobe at the cell's centre, its brightness from the cell's
 * mean), interpolated; then one pass at full resolution lays the shade at each pixel's own
 * luminance detail ratio through the material's tone curve, as paint.ts does. paint.ts's extra full
 * pass (every pixel's luminance and its 3x3 and 5x5 row sums) is what this saves; the detail ratio is
 * the pixel's own, not half its 3x3 mean. Returns false when the region has (almost) no coverage.
 */
export function blendOnGrid(frame: Frame, mask: CoverageMask, layer: PaintLayer, light: LightEstimate, faceScale: number, drawn?: DrawnLight): boolean {
  if (layer.strength <= 0) return false;
  const spans = coveredSpans(mask);
  if (!spans) return false;
  const grid = cellGrid(mask, faceScale);
  const { f, gw, gh } = grid;
  const sums = blockSums(frame, mask, spans, grid);
  const cells = gw * gh;
  let w = 0;
  let mr = 0;
  let mg = 0;
  let mb = 0;
  for (let i = 0; i < cells; i++) {
    mr += sums[i * 4];
    mg += sums[i * 4 + 1];
    mb += sums[i * 4 + 2];
    w += sums[i * 4 + 3];
  }
  // Sampled every other pixel and row for cells of 4 px and more: the weight counts a quarter of the pixels.
  if (w * (f >= 4 ? 4 : 1) < 1) return false;
  mr /= w;
  mg /= w;
  mb /= w;
  const meanY = Math.max(1e-4, 0.2126 * mr + 0.7152 * mg + 0.0722 * mb);
  const m = layer.material;
  const spec = m.specular > 0 ? specularShape(mask.rect, layer, light) : null;
  let shine: Float32Array | null = null;
  if (spec) {
    shine = f32(cells);
    for (let cy = 0; cy < gh; cy++) {
      const lobeY = Math.exp(spec.ky * ((cy + 0.5) * f - spec.cy) ** 2);
      for (let cx = 0; cx < gw; cx++) {
        const i = cy * gw + cx;
        const cw = sums[i * 4 + 3];
        // A cell the samples missed (a feather's faint rim): the region's mean stands in.
        const d = cw > 0 ? (0.2126 * sums[i * 4] + 0.7152 * sums[i * 4 + 1] + 0.0722 * sums[i * 4 + 2]) / cw / meanY : 1;
        shine[i] = Math.exp(spec.kx * ((cx + 0.5) * f - spec.cx) ** 2) * lobeY * shineAt(m, d);
      }
    }
  }
  blendPixels({ frame, mask, spans, grid, layer, mean: { r: mr, g: mg, b: mb, y: meanY }, spec: spec && shine ? { rgb: spec.rgb, perCell: shine } : null }, drawn);
  return true;
}

/** What blendOnGrid hands its full-resolution pass: the region, its grid, the layer, the region's mean colour and the shine per cell. */
interface BlendPass {
  frame: Frame;
  mask: CoverageMask;
  spans: Spans;
  grid: CellGrid;
  layer: PaintLayer;
  mean: { r: number; g: number; b: number; y: number };
  spec: { rgb: Rgb; perCell: Float32Array } | null;
}

/** The full-resolution pass of blendOnGrid (in the try-on stage, a SIMD kernel: blendOnKernel). */
function blendPixels(pass: BlendPass, drawn?: DrawnLight): void {
  const { frame, mask, spans, grid, layer, mean, spec } = pass;
  const kernels = currentKernels();
  // The drawn-light plane (the GAN stage's recorder) is not in the kernels' memory: that case stays here.
  if (kernels && !(spec && drawn?.plane) && blendOnKernel(kernels, pass)) return;
  const { f, gw, gh } = grid;
  const { data, width } = frame;
  const { rect, alpha } = mask;
  const m = layer.material;
  const tone = toneTable(m);
  const toneScale = TONE_SCALE / mean.y;
  const invMean = 1 / mean.y;
  const through = m.through;
  const [c0r, c0g, c0b] = layer.colour;
  const strength = layer.strength;
  const plane = spec ? (drawn?.plane ?? null) : null;
  const [sr, sg, sb] = spec ? spec.rgb : [0, 0, 0];
  const specY = 0.2126 * sr + 0.7152 * sg + 0.0722 * sb;
  const cells = spec ? spec.perCell : null;
  // Column → grid position once per call; the shine of the row's two grid rows interpolated once per row.
  const cx0 = i32(rect.width);
  const cx1 = i32(rect.width);
  const cwx = f32(rect.width);
  if (cells)
    for (let x = 0; x < rect.width; x++) {
      const gx = Math.min(gw - 1, Math.max(0, (x + 0.5) / f - 0.5));
      const x0 = Math.floor(gx);
      cx0[x] = x0;
      cx1[x] = Math.min(gw - 1, x0 + 1);
      cwx[x] = gx - x0;
    }
  const row = f32(gw);
  const { lo, hi, box } = spans;
  for (let y = box.y0; y < box.y1; y++) {
    const xa = lo[y];
    const xb = hi[y];
    if (xa >= xb) continue;
    if (cells) {
      const gy = Math.min(gh - 1, Math.max(0, (y + 0.5) / f - 0.5));
      const y0 = Math.floor(gy);
      const y1 = Math.min(gh - 1, y0 + 1);
      const wy = gy - y0;
      for (let c = 0; c < gw; c++) row[c] = cells[y0 * gw + c] + wy * (cells[y1 * gw + c] - cells[y0 * gw + c]);
    }
    let p = ((rect.y + y) * width + rect.x + xa) * 3;
    let i = y * rect.width + xa;
    // The frame pixel's index (p / 3), for the drawn-light plane.
    let q = (rect.y + y) * width + rect.x + xa;
    for (let x = xa; x < xb; x++, p += 3, i++, q++) {
      const a = alpha[i] * strength;
      if (a <= MIN_COVERAGE) continue;
      const r = SRGB_TO_LINEAR[data[p]];
      const g = SRGB_TO_LINEAR[data[p + 1]];
      const b = SRGB_TO_LINEAR[data[p + 2]];
      const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      const ti = lum * toneScale;
      const t = tone[ti >= TONE_STEPS ? TONE_STEPS : (ti + 0.5) | 0];
      let tr = c0r * t;
      let tg = c0g * t;
      let tb = c0b * t;
      if (through > 0) {
        // The surface's own chroma around its mean, at this pixel's brightness.
        const d = lum * invMean;
        tr += through * (r - mean.r * d);
        tg += through * (g - mean.g * d);
        tb += through * (b - mean.b * d);
      }
      if (cells) {
        const s = row[cx0[x]] + cwx[x] * (row[cx1[x]] - row[cx0[x]]);
        tr += s * sr;
        tg += s * sg;
        tb += s * sb;
        if (plane) plane[q] += a * s * specY;
      }
      data[p] = toSrgb(r + a * (tr - r));
      data[p + 1] = toSrgb(g + a * (tg - g));
      data[p + 2] = toSrgb(b + a * (tb - b));
    }
  }
}

/**
 * blendPixels as the SIMD kernel (simd/assembly/blend.ts: the same sums in float32), on the mask
 * rect's rows copied into the kernels' memory. False (nothing done) when a buffer is not there.
 */
function blendOnKernel(kernels: Kernels, { frame, mask, spans, grid, layer, mean, spec }: BlendPass): boolean {
  const { rect, alpha } = mask;
  const { lo, hi, box } = spans;
  const m = layer.material;
  const params = f32(16);
  params.set([layer.strength, TONE_SCALE / mean.y, 1 / mean.y, m.through, ...layer.colour, mean.r, mean.g, mean.b, ...(spec ? spec.rgb : [0, 0, 0])]);
  const tone = kernels.kept(toneTable(m));
  const scratch = f32(grid.gw + 4 + rect.width + 4);
  if (tone === null || !kernels.holds(alpha, lo, hi, params, scratch, ...(spec ? [spec.perCell] : []))) return false;
  const cells = spec ? spec.perCell.byteOffset : 0;
  return kernels.paintRows(frame, rect, box.y0, box.y1, (pixels) =>
    kernels.exports.blendPixels(pixels, rect.width, alpha.byteOffset, lo.byteOffset, hi.byteOffset, box.y0, box.y1, params.byteOffset, tone, TONE_STEPS, cells, grid.gw, grid.gh, grid.f, scratch.byteOffset),
  );
}

/** Linear light → sRGB byte by table (inlined by the JIT: no Math calls in the blend loop). */
function toSrgb(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : LINEAR_TO_SRGB[(v * LINEAR_STEPS + 0.5) | 0];
}
