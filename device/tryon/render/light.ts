/**
 * The face's own light, estimated once per frame from the camera's pixels (before anything is
 * painted): the skin's luminance distribution (median and a robust highlight level) and the
 * direction the shading falls across the face oval. Gloss, shimmer and highlighter follow it, so a
 * shopper lit from the left gets highlights on the left.
 *
 * Direction: a least-squares plane Y ≈ c + gx·u + gy·v over the skin, u/v the pixel's offset from
 * the skin's centroid in units of the face's half-size; the gradient (gx, gy) points to where the
 * skin gets brighter, i.e. towards the key light. A face lit evenly (|g| small next to the median)
 * gets the store default: light from above.
 */
import type { Frame } from '../../core/frame.ts';
import type { CoverageMask } from '../raster.ts';
import { SRGB_TO_LINEAR } from '../colour.ts';
import type { LightEstimate } from './renderer.ts';

/** Histogram resolution of linear luminance (0..1). */
const BINS = 1024;
/** Skin pixels sampled on a grid this many pixels apart at most (a face has tens of thousands). */
const TARGET_SAMPLES = 6000;
/** Below this gradient (relative to the median, per half-face) the light counts as even. */
const EVEN_LIGHT = 0.04;
/** Coverage above which a mask pixel counts as skin. */
const SKIN = 0.5;

export const OVERHEAD_LIGHT: LightEstimate = { direction: [0, -1], highlight: 0.6, median: 0.3 };

export function estimateLight(frame: Frame, skin: CoverageMask | null): LightEstimate {
  if (!skin) return OVERHEAD_LIGHT;
  const { rect, alpha } = skin;
  const step = Math.max(1, Math.floor(Math.sqrt((rect.width * rect.height) / TARGET_SAMPLES)));
  const hist = new Uint32Array(BINS);
  const halfW = rect.width / 2;
  const halfH = rect.height / 2;
  // Normal equations of the plane fit, accumulated in one pass (u, v centred on the rect).
  let n = 0;
  let su = 0;
  let sv = 0;
  let sy = 0;
  let suu = 0;
  let svv = 0;
  let suv = 0;
  let suy = 0;
  let svy = 0;
  const { data, width } = frame;
  for (let y = 0; y < rect.height; y += step) {
    const v = (y - halfH) / halfH;
    for (let x = 0; x < rect.width; x += step) {
      if (alpha[y * rect.width + x] < SKIN) continue;
      const p = ((rect.y + y) * width + rect.x + x) * 3;
      const lum = 0.2126 * SRGB_TO_LINEAR[data[p]] + 0.7152 * SRGB_TO_LINEAR[data[p + 1]] + 0.0722 * SRGB_TO_LINEAR[data[p + 2]];
      hist[Math.min(BINS - 1, Math.floor(lum * BINS))]++;
      const u = (x - halfW) / halfW;
      n++;
      su += u;
      sv += v;
      sy += lum;
      suu += u * u;
      svv += v * v;
      suv += u * v;
      suy += u * lum;
      svy += v * lum;
    }
  }
  if (n < 16) return OVERHEAD_LIGHT;
  const median = percentile(hist, n, 0.5);
  const highlight = Math.max(median, percentile(hist, n, 0.97));
  const [gx, gy] = planeGradient(n, su, sv, sy, suu, svv, suv, suy, svy);
  const g = Math.hypot(gx, gy);
  const direction: [number, number] = g > EVEN_LIGHT * median ? [gx / g, gy / g] : [0, -1];
  return { direction, highlight, median };
}

function percentile(hist: Uint32Array, n: number, q: number): number {
  const target = q * n;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= target) return (i + 0.5) / hist.length;
  }
  return 1;
}

/** Slopes of the least-squares plane lum = c + gx·u + gy·v, from its sums (centred covariance). */
function planeGradient(n: number, su: number, sv: number, sy: number, suu: number, svv: number, suv: number, suy: number, svy: number): [number, number] {
  const cuu = suu - (su * su) / n;
  const cvv = svv - (sv * sv) / n;
  const cuv = suv - (su * sv) / n;
  const cuy = suy - (su * sy) / n;
  const cvy = svy - (sv * sy) / n;
  const det = cuu * cvv - cuv * cuv;
  if (Math.abs(det) < 1e-9) return [0, 0];
  return [(cvv * cuy - cuv * cvy) / det, (cuu * cvy - cuv * cuy) / det];
}
