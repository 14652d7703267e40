/**
 * The first half of finding a chart: the photo's near-uniform, square-ish regions (candidate
 * patches). A pixel is "flat" where the smoothed image barely changes; flat pixels are grouped into
 * connected regions, and a region is kept when its area and second moments say "filled
 * parallelogram" (a square seen in perspective is close to one).
 */
import type { RgbImage } from '../image.ts';

export interface Blob {
  /** Centroid, in the image's pixels. */
  x: number;
  y: number;
  area: number;
}

/** Detection runs on a copy no longer than this on its longer side (speed; the patches stay ≥ ~8 px). */
const WORK_SIDE = 640;

/** Box-averaged copy, `factor` times smaller. */
function downscale(image: RgbImage, factor: number): RgbImage {
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const data = new Uint8Array(width * height * 3);
  const n = factor * factor;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) s += image.data[((y * factor + dy) * image.width + x * factor + dx) * 3 + c];
        data[(y * width + x) * 3 + c] = Math.round(s / n);
      }
    }
  }
  return { width, height, data };
}

/** Per pixel, the largest channel change across a 5-pixel span of a 3x3-box-smoothed image. */
function gradient(img: RgbImage): Float32Array {
  const { width: w, height: h, data } = img;
  const smooth = new Float32Array(w * h * 3);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += data[((y + dy) * w + x + dx) * 3 + c];
        smooth[(y * w + x) * 3 + c] = s / 9;
      }
    }
  }
  const grad = new Float32Array(w * h).fill(Infinity);
  for (let y = 3; y < h - 3; y++) {
    for (let x = 3; x < w - 3; x++) {
      let g = 0;
      for (let c = 0; c < 3; c++) {
        const gx = Math.abs(smooth[(y * w + x + 2) * 3 + c] - smooth[(y * w + x - 2) * 3 + c]);
        const gy = Math.abs(smooth[((y + 2) * w + x) * 3 + c] - smooth[((y - 2) * w + x) * 3 + c]);
        g = Math.max(g, gx, gy);
      }
      grad[y * w + x] = g;
    }
  }
  return grad;
}

/** Moments of one connected flat region, or null when it is not patch-shaped. */
function measure(pixels: number[], w: number, minArea: number, maxArea: number): Blob | null {
  const area = pixels.length;
  if (area < minArea || area > maxArea) return null;
  let sx = 0;
  let sy = 0;
  for (const p of pixels) {
    sx += p % w;
    sy += Math.floor(p / w);
  }
  const cx = sx / area;
  const cy = sy / area;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (const p of pixels) {
    const dx = (p % w) - cx;
    const dy = Math.floor(p / w) - cy;
    xx += dx * dx;
    yy += dy * dy;
    xy += dx * dy;
  }
  [xx, yy, xy] = [xx / area, yy / area, xy / area];
  const det = xx * yy - xy * xy;
  const tr = xx + yy;
  const disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det));
  const [l1, l2] = [tr / 2 + disc, tr / 2 - disc];
  // A filled parallelogram has area = 12·sqrt(det Σ) (affine invariant); elongated or ragged regions do not.
  const fill = area / (12 * Math.sqrt(Math.max(det, 1e-9)));
  if (l2 <= 0 || l1 / l2 > 6 || fill < 0.8 || fill > 1.15) return null;
  return { x: cx, y: cy, area };
}

/** Candidate patches in `image`, in its pixel coordinates. */
export function findFlatBlobs(image: RgbImage): Blob[] {
  const factor = Math.max(1, Math.ceil(Math.max(image.width, image.height) / WORK_SIDE));
  const img = factor > 1 ? downscale(image, factor) : image;
  const { width: w, height: h } = img;
  const grad = gradient(img);
  // Flat: below a fixed floor or 2.5x the image's median change (noisier photos get more slack).
  const sorted = Float32Array.from(grad.filter(Number.isFinite)).sort();
  const threshold = Math.max(6, 2.5 * (sorted[sorted.length >> 1] ?? 0));
  const labels = new Int32Array(w * h);
  const blobs: Blob[] = [];
  const stack: number[] = [];
  const minArea = 24;
  const maxArea = (w * h) / 40;
  let next = 1;
  for (let start = 0; start < w * h; start++) {
    if (labels[start] !== 0 || !(grad[start] < threshold)) continue;
    const pixels: number[] = [];
    labels[start] = next;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      pixels.push(p);
      const x = p % w;
      for (const q of [p - 1, p + 1, p - w, p + w]) {
        if (q < 0 || q >= w * h || labels[q] !== 0 || !(grad[q] < threshold)) continue;
        if ((q === p - 1 && x === 0) || (q === p + 1 && x === w - 1)) continue;
        labels[q] = next;
        stack.push(q);
      }
    }
    next++;
    const blob = measure(pixels, w, minArea, maxArea);
    if (blob) blobs.push({ x: (blob.x + 0.5) * factor - 0.5, y: (blob.y + 0.5) * factor - 0.5, area: blob.area * factor * factor });
  }
  return blobs;
}
