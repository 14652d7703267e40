/**
 * The CIELAB pixels of one face region, sampled on a grid: the region's loops from the mesh
 * (device/vision/regions.ts, even-odd), every `stride`-th pixel of its box whose centre is inside,
 * with the stride chosen so a region yields about `target` pixels whatever the face's size (the
 * analysis cost stays flat from a far to a near shopper).
 */
import type { RgbImage } from '../vision/image-ops.ts';
import { regionPolygons, type Point, type Polygon, type RegionName } from '../vision/regions.ts';
import * as colour from '../tryon/colour.ts';
import { srgbToLab, type Lab } from './lab.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

export interface PatchPixels {
  /** L*, a*, b* per sampled pixel, interleaved. */
  lab: Float32Array;
  /** Linear-light R, G, B (0..1) per sampled pixel, interleaved (channel ratios: tone-estimate.ts). */
  rgb: Float32Array;
  /** True where any channel is at or above CLIPPED_CODE (a blown highlight: no colour to read). */
  clipped: Uint8Array;
  /** The image column of each sampled pixel: which side of the face it lies on (the fairness experiments' lit-half split, device/tools/fairness-cv.ts; a few bytes per sample, kept so the tool reads the very pixels the device samples). */
  x: Uint16Array;
  count: number;
}

/** A channel at or above this is clipped by the sensor. */
export const CLIPPED_CODE = 250;

function inside(polygons: readonly Polygon[], x: number, y: number): boolean {
  let odd = false;
  for (const poly of polygons) {
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i];
      const [xj, yj] = poly[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
    }
  }
  return odd;
}

export function patchPixels(image: RgbImage, landmarks: ReadonlyArray<Point>, region: RegionName, target = 400): PatchPixels {
  const polygons = regionPolygons(landmarks, region);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const poly of polygons)
    for (const [x, y] of poly) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  x0 = Math.max(0, Math.floor(x0));
  y0 = Math.max(0, Math.floor(y0));
  x1 = Math.min(image.width - 1, Math.ceil(x1));
  y1 = Math.min(image.height - 1, Math.ceil(y1));
  const empty = { lab: new Float32Array(0), rgb: new Float32Array(0), clipped: new Uint8Array(0), x: new Uint16Array(0), count: 0 };
  if (!(x1 > x0 && y1 > y0)) return empty;
  // The box is about twice the region's area for these shapes.
  const stride = Math.max(1, Math.floor(Math.sqrt(((x1 - x0) * (y1 - y0)) / (2 * target))));
  const max = Math.ceil((x1 - x0 + 1) / stride) * Math.ceil((y1 - y0 + 1) / stride);
  const lab = new Float32Array(max * 3);
  const rgb = new Float32Array(max * 3);
  const clipped = new Uint8Array(max);
  const xs = new Uint16Array(max);
  const px: Lab = [0, 0, 0];
  let n = 0;
  for (let y = y0; y <= y1; y += stride)
    for (let x = x0; x <= x1; x += stride) {
      if (!inside(polygons, x + 0.5, y + 0.5)) continue;
      const o = (y * image.width + x) * 3;
      const r = image.data[o];
      const g = image.data[o + 1];
      const b = image.data[o + 2];
      srgbToLab(r, g, b, px);
      lab[n * 3] = px[0];
      lab[n * 3 + 1] = px[1];
      lab[n * 3 + 2] = px[2];
      rgb[n * 3] = SRGB_TO_LINEAR[r];
      rgb[n * 3 + 1] = SRGB_TO_LINEAR[g];
      rgb[n * 3 + 2] = SRGB_TO_LINEAR[b];
      clipped[n] = r >= CLIPPED_CODE || g >= CLIPPED_CODE || b >= CLIPPED_CODE ? 1 : 0;
      xs[n] = x;
      n++;
    }
  return { lab: lab.subarray(0, n * 3), rgb: rgb.subarray(0, n * 3), clipped: clipped.subarray(0, n), x: xs.subarray(0, n), count: n };
}
