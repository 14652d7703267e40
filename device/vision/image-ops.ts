/**
 * Pixel sampling for model inputs. One rotated-square crop routine serves the detector
 * (whole frame, letterboxed) and the mesh (face crop, rotated upright), so the mapping back to
 * frame coordinates is the same inverse transform everywhere.
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A square region of the frame, rotated by `angle` (radians) around its centre. */
export interface SquareRegion {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

/**
 * Bilinear-samples `region` into an outSize x outSize NHWC float32 tensor scaled to [lo, hi].
 * Pixels outside the frame read as black, as MediaPipe pads.
 */
export function sampleRegion(
  image: RgbImage,
  region: SquareRegion,
  outSize: number,
  range: readonly [number, number],
  out: Float32Array = new Float32Array(outSize * outSize * 3),
): Float32Array {
  const { width, height, data } = image;
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  const step = region.size / outSize;
  const cos = Math.cos(region.angle);
  const sin = Math.sin(region.angle);
  const half = region.size / 2;
  const maxX = width - 1;
  const maxY = height - 1;
  let o = 0;
  for (let v = 0; v < outSize; v++) {
    const dv = (v + 0.5) * step - half;
    for (let u = 0; u < outSize; u++) {
      const du = (u + 0.5) * step - half;
      const x = region.cx + cos * du - sin * dv - 0.5;
      const y = region.cy + sin * du + cos * dv - 0.5;
      if (x < -1 || y < -1 || x > width || y > height) {
        out[o++] = lo;
        out[o++] = lo;
        out[o++] = lo;
        continue;
      }
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const xa = x0 < 0 ? 0 : x0 > maxX ? maxX : x0;
      const xb = x0 + 1 < 0 ? 0 : x0 + 1 > maxX ? maxX : x0 + 1;
      const ya = y0 < 0 ? 0 : y0 > maxY ? maxY : y0;
      const yb = y0 + 1 < 0 ? 0 : y0 + 1 > maxY ? maxY : y0 + 1;
      const i00 = (ya * width + xa) * 3;
      const i10 = (ya * width + xb) * 3;
      const i01 = (yb * width + xa) * 3;
      const i11 = (yb * width + xb) * 3;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let c = 0; c < 3; c++) {
        const value = data[i00 + c] * w00 + data[i10 + c] * w10 + data[i01 + c] * w01 + data[i11 + c] * w11;
        out[o++] = lo + value * scale;
      }
    }
  }
  return out;
}

/** Maps a point given in the region's normalised coordinates (0..1 both axes) back to the frame. */
export function regionToFrame(region: SquareRegion, nx: number, ny: number): [number, number] {
  const du = (nx - 0.5) * region.size;
  const dv = (ny - 0.5) * region.size;
  const cos = Math.cos(region.angle);
  const sin = Math.sin(region.angle);
  return [region.cx + cos * du - sin * dv, region.cy + sin * du + cos * dv];
}

/** Axis-aligned bounds of a rotated square region. */
export function regionBounds(region: SquareRegion): { x: number; y: number; width: number; height: number } {
  const extent = (region.size / 2) * (Math.abs(Math.cos(region.angle)) + Math.abs(Math.sin(region.angle)));
  return { x: region.cx - extent, y: region.cy - extent, width: 2 * extent, height: 2 * extent };
}
