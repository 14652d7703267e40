/**
 * Does the tracked crop still hold the face? The mesh's own face flag stays high on almost any
 * face-sized blob for a frame or two, so a face that teleports (one shopper steps out, another in
 * elsewhere) would keep the old position. This check is cheap and runs before the mesh: the crop
 * predicted for this frame is sampled from the last frame (when it was predicted) and from this
 * one, as small blurred thumbnails, and compared by normalised cross-correlation. A face that
 * moved a few pixels correlates near 1; a crop now on background or on another person does not,
 * and the tracker then re-acquires with the detector on this same frame.
 */
import { sampleRegion, type RgbImage, type SquareRegion } from './image-ops.ts';

/** Sampled at SAMPLE² and box-averaged down to THUMB² so the thumbnail is blurred, not aliased. */
const SAMPLE = 64;
const THUMB = 16;
/**
 * Correlation below this: the crop no longer shows what it showed. Measured: on the demo clip's
 * motion (up to ~5 px/frame at 1280x720) it never fires (the detector ran on 20 of 300 frames, all
 * of them the periodic checks); on the jump test it fires on every one of the 8 teleports.
 */
export const MIN_CORRELATION = 0.6;

export type Thumbnail = Float32Array;

export function thumbnail(image: RgbImage, region: SquareRegion): Thumbnail {
  const sampled = sampleRegion(image, region, SAMPLE, [0, 1]);
  const k = SAMPLE / THUMB;
  const out = new Float32Array(THUMB * THUMB * 3);
  for (let y = 0; y < SAMPLE; y++)
    for (let x = 0; x < SAMPLE; x++) {
      const o = ((Math.floor(y / k) * THUMB + Math.floor(x / k)) * 3) | 0;
      const i = (y * SAMPLE + x) * 3;
      out[o] += sampled[i];
      out[o + 1] += sampled[i + 1];
      out[o + 2] += sampled[i + 2];
    }
  return out;
}

/** Normalised cross-correlation of two thumbnails (0 when either is flat). */
export function correlation(a: Thumbnail, b: Thumbnail): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  const norm = Math.sqrt(aa * bb);
  return norm > 1e-9 ? ab / norm : 0;
}
