/**
 * The face's own light, estimated once per frame from the camera's pixels (before anything is
 * painted): the skin's luminance distribution (median and a robust highlight level) and the
 * direction the shading falls across the face oval. Gloss, shimmer and highlighter follow it, so a
 * shopper lit from the left gets highlights on the left.
 *
 * Direction: a least-squares plane Y ≈ c + gx·u + gy·v over the skin samples, u/v the sample's
 * offset from the centre of the face's box in units of its half-size; the gradient (gx, gy) points to where the
 * skin gets brighter, i.e. towards the key light. A face lit evenly (|g| small next to the median)
 * gets the store default: light from above.
 */
import type { Frame } from '../../core/frame.ts';
import { BROW_LEFT, BROW_RIGHT, EYE_LEFT, EYE_RIGHT, FACE_OVAL, LIPS_INNER, LIPS_OUTER, regionPolygons, type Point, type Polygon } from '../../vision/regions.ts';
import * as colour from '../colour.ts';
import type { LightEstimate } from './renderer.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

/** Histogram resolution of linear luminance (0..1). */
const BINS = 1024;
/** Below this gradient (relative to the median, per half-face) the light counts as even. */
const EVEN_LIGHT = 0.04;
/**
 * A sample darker than this share of the skin's median is not skin lit by the face's light (a lock
 * of hair, a nostril's shadow, a beard): left out of the fit.
 */
const DARK_OUTLIER = 0.4;

export const OVERHEAD_LIGHT: LightEstimate = { direction: [0, -1], highlight: 0.6, median: 0.3 };

/** Mesh points on the outline or on a feature's edge: their neighbourhood is half skin at best. */
const EDGE_POINTS = new Uint8Array(478);
for (const k of [...FACE_OVAL, ...LIPS_OUTER, ...LIPS_INNER, ...EYE_RIGHT, ...EYE_LEFT, ...BROW_RIGHT, ...BROW_LEFT]) EDGE_POINTS[k] = 1;

/** Each polygon's box [minX, minY, maxX, maxY]: most points lie outside most holes, and are told so by the box alone. */
function boxes(polys: readonly Polygon[]): Float64Array {
  const out = new Float64Array(polys.length * 4);
  polys.forEach((poly, k) => {
    out.set([Infinity, Infinity, -Infinity, -Infinity], k * 4);
    for (const [x, y] of poly) {
      out[k * 4] = Math.min(out[k * 4], x);
      out[k * 4 + 1] = Math.min(out[k * 4 + 1], y);
      out[k * 4 + 2] = Math.max(out[k * 4 + 2], x);
      out[k * 4 + 3] = Math.max(out[k * 4 + 3], y);
    }
  });
  return out;
}

/** Even-odd point in polygons (`box`: their boxes, from boxes()). */
function inside(polys: readonly Polygon[], box: Float64Array, x: number, y: number): boolean {
  let c = false;
  // Index loops, no destructuring: ~470 points against a dozen loops, once per frame.
  for (let k = 0; k < polys.length; k++) {
    if (x < box[k * 4] || y < box[k * 4 + 1] || x > box[k * 4 + 2] || y > box[k * 4 + 3]) continue;
    const poly = polys[k];
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const xi = poly[i][0];
      const yi = poly[i][1];
      const xj = poly[j][0];
      const yj = poly[j][1];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
  }
  return c;
}

/**
 * The face's light from the camera's pixels at the mesh's skin points (the `faceSkin` region's
 * points off its edges: ~300 samples spread over forehead, cheeks, nose and chin, each the mean of
 * its 3x3 neighbourhood), so no skin mask has to be built for it. Read before anything is painted.
 */
export function estimateLight(frame: Frame, landmarks: ReadonlyArray<Point>): LightEstimate {
  const polys = regionPolygons(landmarks, 'faceSkin');
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [x, y] of polys[0]) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const halfW = (maxX - minX) / 2 || 1;
  const halfH = (maxY - minY) / 2 || 1;
  const cx = minX + halfW;
  const cy = minY + halfH;
  const { data, width, height } = frame;
  const polyBoxes = boxes(polys);
  const us: number[] = [];
  const vs: number[] = [];
  const lums: number[] = [];
  for (let k = 0; k < landmarks.length; k++) {
    if (EDGE_POINTS[k]) continue;
    const [x, y] = landmarks[k];
    const px = Math.floor(x);
    const py = Math.floor(y);
    if (px < 1 || py < 1 || px >= width - 1 || py >= height - 1 || !inside(polys, polyBoxes, x, y)) continue;
    let lum = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const p = ((py + dy) * width + px + dx) * 3;
        lum += 0.2126 * SRGB_TO_LINEAR[data[p]] + 0.7152 * SRGB_TO_LINEAR[data[p + 1]] + 0.0722 * SRGB_TO_LINEAR[data[p + 2]];
      }
    us.push((x - cx) / halfW);
    vs.push((y - cy) / halfH);
    lums.push(lum / 9);
  }
  if (lums.length < 16) return OVERHEAD_LIGHT;
  // A typed array sorts numerically without a comparator call per step (the same order: finite, non-negative values).
  const rough = Float64Array.from(lums).sort()[lums.length >> 1];
  const hist = new Uint32Array(BINS);
  // Normal equations of the plane fit, accumulated in one pass (u, v centred on the face's box).
  let n = 0;
  let su = 0;
  let sv = 0;
  let sy = 0;
  let suu = 0;
  let svv = 0;
  let suv = 0;
  let suy = 0;
  let svy = 0;
  for (let k = 0; k < lums.length; k++) {
    const lum = lums[k];
    if (lum < DARK_OUTLIER * rough) continue;
    const u = us[k];
    const v = vs[k];
    hist[Math.min(BINS - 1, Math.floor(lum * BINS))]++;
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
