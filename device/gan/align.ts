/**
 * Face alignment for the GAN stage: a similarity transform (scale, rotation, shift; no shear, no
 * mirror) fitted by least squares from three mesh anchors (the two eye centres and the mouth
 * centre) to fixed spots of a square crop, the crop sampled bilinearly from the frame, and the
 * refinement pasted back through a feathered weight. Training data (models/gan/train) is cut with
 * the same code, so the model sees the faces the device gives it.
 */
import type { Point } from '../vision/regions.ts';

/** Where the anchors land in the crop, as fractions of its side (eyes level, mouth centred below). */
export const CANONICAL_ANCHORS: ReadonlyArray<readonly [number, number]> = [
  [0.34, 0.4],
  [0.66, 0.4],
  [0.5, 0.74],
];

/** Mesh indices of the anchors: eye corners (averaged) and mouth corners (averaged). */
const ANCHOR_POINTS: ReadonlyArray<readonly number[]> = [
  [33, 133],
  [263, 362],
  [61, 291],
];

/** Maps frame pixels to crop pixels: crop = [a -b; b a] · frame + [tx, ty]. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** The three anchors of a face mesh, in frame pixels. */
export function meshAnchors(landmarks: ReadonlyArray<Point>): Array<[number, number]> {
  return ANCHOR_POINTS.map((idx) => {
    let x = 0;
    let y = 0;
    for (const i of idx) {
      x += landmarks[i][0];
      y += landmarks[i][1];
    }
    return [x / idx.length, y / idx.length];
  });
}

/** Least-squares similarity taking `src` points to `dst` points (closed form, centred sums). */
export function fitSimilarity(src: ReadonlyArray<readonly [number, number]>, dst: ReadonlyArray<readonly [number, number]>): Similarity {
  const n = src.length;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i][0];
    sy += src[i][1];
    dx += dst[i][0];
    dy += dst[i][1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let norm = 0;
  let dot = 0;
  let cross = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - sx;
    const py = src[i][1] - sy;
    const qx = dst[i][0] - dx;
    const qy = dst[i][1] - dy;
    norm += px * px + py * py;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
  }
  if (norm < 1e-9) throw new Error('alignment: anchors coincide');
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

/** The transform from a face's frame pixels to a `size` x `size` aligned crop. */
export function alignFace(landmarks: ReadonlyArray<Point>, size: number): Similarity {
  return fitSimilarity(
    meshAnchors(landmarks),
    CANONICAL_ANCHORS.map(([u, v]) => [u * size, v * size] as const),
  );
}

export interface RgbView {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The crop's bilinear sampling of a frame: for each crop pixel `o` (v * size + u), the frame pixels
 * around the point it maps to (edge-clamped; top-left, top-right, bottom-left, bottom-right) and the
 * weights between them. One inverse map for every plane cut with the same transform.
 */
function forEachTap(t: Similarity, width: number, height: number, size: number, visit: (o: number, i00: number, i10: number, i01: number, i11: number, wx: number, wy: number) => void): void {
  // Inverse map: frame = R^-1 (crop - t) with R^-1 = [a b; -b a] / (a² + b²).
  const s2 = t.a * t.a + t.b * t.b;
  const ia = t.a / s2;
  const ib = t.b / s2;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const cu = u + 0.5 - t.tx;
      const cv = v + 0.5 - t.ty;
      const fx = Math.min(width - 1, Math.max(0, ia * cu + ib * cv - 0.5));
      const fy = Math.min(height - 1, Math.max(0, -ib * cu + ia * cv - 0.5));
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      visit(v * size + u, y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1, fx - x0, fy - y0);
    }
  }
}

/** Samples the aligned crop (RGB bytes, size x size) from an RGB frame; outside the frame is edge-clamped. */
export function warpToCrop(frame: RgbView, t: Similarity, size: number, out = new Uint8Array(size * size * 3)): Uint8Array {
  const { width, height, data } = frame;
  forEachTap(t, width, height, size, (o, i00, i10, i01, i11, wx, wy) => {
    for (let c = 0; c < 3; c++) {
      const top = data[i00 * 3 + c] + (data[i10 * 3 + c] - data[i00 * 3 + c]) * wx;
      const bottom = data[i01 * 3 + c] + (data[i11 * 3 + c] - data[i01 * 3 + c]) * wx;
      out[o * 3 + c] = Math.round(top + (bottom - top) * wy);
    }
  });
  return out;
}

/** Samples one float plane (frame-sized, row-major) into the aligned crop (size x size), bilinear, edge-clamped. */
export function warpPlaneToCrop(plane: Float32Array, width: number, height: number, t: Similarity, size: number, out = new Float32Array(size * size)): Float32Array {
  forEachTap(t, width, height, size, (o, i00, i10, i01, i11, wx, wy) => {
    const top = plane[i00] + (plane[i10] - plane[i00]) * wx;
    const bottom = plane[i01] + (plane[i11] - plane[i01]) * wx;
    out[o] = top + (bottom - top) * wy;
  });
  return out;
}

/**
 * Adds a crop-space residual (float RGB levels, size x size x 3) into the frame, weighted per crop
 * pixel by `weight` (0..1, size x size), sampled bilinearly at each frame pixel the crop covers.
 * Pixels where the weight is 0 are left byte for byte as they were. Returns the pixels changed.
 */
export function pasteResidual(frame: RgbView, t: Similarity, size: number, residual: Float32Array, weight: Float32Array): number {
  const s2 = t.a * t.a + t.b * t.b;
  const ia = t.a / s2;
  const ib = t.b / s2;
  // Bounding box of the crop's corners in the frame.
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [u, v] of [
    [0, 0],
    [size, 0],
    [0, size],
    [size, size],
  ]) {
    const cu = u - t.tx;
    const cv = v - t.ty;
    const x = ia * cu + ib * cv;
    const y = -ib * cu + ia * cv;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const x0 = Math.max(0, Math.floor(minX));
  const y0 = Math.max(0, Math.floor(minY));
  const x1 = Math.min(frame.width - 1, Math.ceil(maxX));
  const y1 = Math.min(frame.height - 1, Math.ceil(maxY));
  const { data, width } = frame;
  let changed = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const u = t.a * (x + 0.5) - t.b * (y + 0.5) + t.tx - 0.5;
      const v = t.b * (x + 0.5) + t.a * (y + 0.5) + t.ty - 0.5;
      if (u < 0 || v < 0 || u > size - 1 || v > size - 1) continue;
      const u0 = Math.floor(u);
      const v0 = Math.floor(v);
      const u1 = Math.min(size - 1, u0 + 1);
      const v1 = Math.min(size - 1, v0 + 1);
      const wu = u - u0;
      const wv = v - v0;
      const k00 = v0 * size + u0;
      const k10 = v0 * size + u1;
      const k01 = v1 * size + u0;
      const k11 = v1 * size + u1;
      const w = (weight[k00] * (1 - wu) + weight[k10] * wu) * (1 - wv) + (weight[k01] * (1 - wu) + weight[k11] * wu) * wv;
      if (w <= 0) continue;
      const p = (y * width + x) * 3;
      let moved = false;
      for (let c = 0; c < 3; c++) {
        const r =
          (residual[k00 * 3 + c] * (1 - wu) + residual[k10 * 3 + c] * wu) * (1 - wv) + (residual[k01 * 3 + c] * (1 - wu) + residual[k11 * 3 + c] * wu) * wv;
        const next = Math.min(255, Math.max(0, Math.round(data[p + c] + w * r)));
        if (next !== data[p + c]) {
          data[p + c] = next;
          moved = true;
        }
      }
      if (moved) changed++;
    }
  }
  return changed;
}
