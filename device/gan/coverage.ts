/**
 * The region mask the GAN is given: where the classical render made the face up, read from the
 * aligned crops before and after the renderer (the renderer's own gated masks, soft edges and
 * occlusion included, since only what it painted differs). Soft: a pixel the render moved by
 * `FULL_LEVELS` or more on any channel is fully inside, one it did not move is outside.
 *
 * The paste weight widens that mask by a few crop pixels and feathers it, so the refinement may
 * retouch the boundary between makeup and skin (the GAN's job) but never lands on the background,
 * the eyes left bare or the hair.
 */

/** A change of this many 8-bit levels counts as fully made up. */
export const FULL_LEVELS = 12;

/** Coverage 0..1 per crop pixel from the bare and rendered crops (RGB bytes, size x size). */
export function makeupCoverage(bare: Uint8Array, render: Uint8Array, size: number, out = new Float32Array(size * size)): Float32Array {
  for (let i = 0; i < size * size; i++) {
    const d = Math.max(Math.abs(render[i * 3] - bare[i * 3]), Math.abs(render[i * 3 + 1] - bare[i * 3 + 1]), Math.abs(render[i * 3 + 2] - bare[i * 3 + 2]));
    // One level of change is rounding or JPEG noise, not paint.
    out[i] = d <= 1 ? 0 : Math.min(1, d / FULL_LEVELS);
  }
  return out;
}

/** Max filter of radius r (separable), then a box blur of radius r: widens the mask and softens its edge. */
export function pasteWeight(coverage: Float32Array, size: number, radius: number, out = new Float32Array(size * size)): Float32Array {
  const tmp = new Float32Array(size * size);
  const grown = new Float32Array(size * size);
  separable(coverage, tmp, grown, size, radius, 'max');
  separable(grown, tmp, out, size, radius, 'mean');
  // The refinement is only ever allowed where the mask reaches.
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i]);
  return out;
}

function separable(src: Float32Array, tmp: Float32Array, dst: Float32Array, size: number, r: number, op: 'max' | 'mean'): void {
  pass(src, tmp, size, r, op, 1, size);
  pass(tmp, dst, size, r, op, size, 1);
}

/** One 1-D pass along rows (step 1) or columns (step size). */
function pass(src: Float32Array, dst: Float32Array, size: number, r: number, op: 'max' | 'mean', step: number, lineStep: number): void {
  for (let line = 0; line < size; line++) {
    const base = line * lineStep;
    for (let i = 0; i < size; i++) {
      let acc = 0;
      let n = 0;
      for (let k = Math.max(0, i - r); k <= Math.min(size - 1, i + r); k++) {
        const v = src[base + k * step];
        if (op === 'max') acc = Math.max(acc, v);
        else acc += v;
        n++;
      }
      dst[base + i * step] = op === 'max' ? acc : acc / n;
    }
  }
}
