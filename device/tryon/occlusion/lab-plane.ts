/**
 * CIELAB (D65) of the camera's own pixels over one rect of the frame, taken before any renderer
 * paints: the gate classifies surfaces in a perceptual space, where "how far from the lip colour"
 * means the same at every lightness. Per-pixel conversion is a hot loop, so it is written here with
 * lookup tables (sRGB → linear, and the Lab companding curve); tests check it against culori.
 */
import * as colour from '../colour.ts';
import type { MaskRect } from '../raster.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

/** D65 white (culori's lab65 reference). */
const XN = 0.3127 / 0.329;
const ZN = (1 - 0.3127 - 0.329) / 0.329;
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;
/** Companding curve f(t) sampled over 0..F_MAX (linear-light XYZ of an sRGB pixel stays below). */
const F_STEPS = 4096;
const F_MAX = 1.1;
const F_LUT = Float32Array.from({ length: F_STEPS + 2 }, (_, i) => {
  const t = (i / F_STEPS) * F_MAX;
  return t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
});

function f(t: number): number {
  const u = (Math.max(0, t) / F_MAX) * F_STEPS;
  // u ≥ 0 and far below 2^31 (t is an sRGB pixel's XYZ), so u | 0 is Math.floor(u), without the call.
  const fl = u | 0;
  const i = fl < F_STEPS ? fl : F_STEPS;
  const w = u - i;
  return F_LUT[i] + w * (F_LUT[i + 1] - F_LUT[i]);
}

/** Writes L, a, b of one sRGB pixel at `out[o..o+2]`. */
export function srgbToLab(r8: number, g8: number, b8: number, out: Float32Array, o: number): void {
  const r = SRGB_TO_LINEAR[r8];
  const g = SRGB_TO_LINEAR[g8];
  const b = SRGB_TO_LINEAR[b8];
  const fx = f((0.4123908 * r + 0.35758434 * g + 0.18048079 * b) / XN);
  const fy = f(0.21263901 * r + 0.71516868 * g + 0.07219232 * b);
  const fz = f((0.01933082 * r + 0.11919478 * g + 0.95053215 * b) / ZN);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

/** Buffers a LabPlane may reuse from one frame to the next (grown as needed). */
export interface LabScratch {
  rgb: Uint8Array;
  lab: Float32Array;
  done: Uint8Array;
}

export const newLabScratch = (): LabScratch => ({ rgb: new Uint8Array(0), lab: new Float32Array(0), done: new Uint8Array(0) });

/** L, a, b per pixel of `rect` (row-major triplets), each pixel converted on its first use. */
export class LabPlane {
  readonly rect: MaskRect;
  readonly #rgb: Uint8Array;
  readonly #lab: Float32Array;
  readonly #done: Uint8Array;

  /**
   * Copies the rect's pixels now: renderers may paint the frame before the gate reads them.
   * `scratch` (the stage's, reused every frame) is grown to fit and taken over by this plane.
   */
  constructor(frame: { width: number; data: Uint8Array }, rect: MaskRect, scratch: LabScratch = newLabScratch()) {
    this.rect = rect;
    const n = rect.width * rect.height;
    if (scratch.done.length < n) {
      scratch.rgb = new Uint8Array(n * 3);
      scratch.lab = new Float32Array(n * 3);
      scratch.done = new Uint8Array(n);
    }
    this.#rgb = scratch.rgb;
    this.#lab = scratch.lab;
    this.#done = scratch.done;
    this.#done.fill(0, 0, n);
    // Rows are cut from a plain Uint8Array view: a Buffer's subarray builds a Buffer per row, at several times the cost.
    const src = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.length);
    for (let y = 0; y < rect.height; y++) {
      const start = ((rect.y + y) * frame.width + rect.x) * 3;
      this.#rgb.set(src.subarray(start, start + rect.width * 3), y * rect.width * 3);
    }
  }

  /** Whether frame pixel (x, y) lies in the plane. */
  has(x: number, y: number): boolean {
    const { rect } = this;
    return x >= rect.x && y >= rect.y && x < rect.x + rect.width && y < rect.y + rect.height;
  }

  /** Offset of frame pixel (x, y)'s L in `data()` (the pixel must lie in the plane). */
  offset(x: number, y: number): number {
    const i = (y - this.rect.y) * this.rect.width + x - this.rect.x;
    if (!this.#done[i]) {
      const o = i * 3;
      srgbToLab(this.#rgb[o], this.#rgb[o + 1], this.#rgb[o + 2], this.#lab, o);
      this.#done[i] = 1;
    }
    return i * 3;
  }

  /**
   * Converts every pixel of `rect` (which must lie in the plane) in one tight pass; afterwards its
   * triplets may be read straight from `data()` at ((y - plane.y) * plane.width + x - plane.x) * 3.
   */
  ensure(rect: MaskRect): void {
    const plane = this.rect;
    const rgb = this.#rgb;
    const lab = this.#lab;
    const done = this.#done;
    for (let y = 0; y < rect.height; y++) {
      let i = (rect.y - plane.y + y) * plane.width + rect.x - plane.x;
      for (let x = 0; x < rect.width; x++, i++) {
        if (done[i]) continue;
        const o = i * 3;
        srgbToLab(rgb[o], rgb[o + 1], rgb[o + 2], lab, o);
        done[i] = 1;
      }
    }
  }

  /** The L, a, b triplets; read only at offsets returned by `offset()` or inside a rect passed to `ensure()`. */
  data(): Float32Array {
    return this.#lab;
  }

  /** The camera's sRGB bytes of the rect as copied (row-major triplets, the same offsets as `data()`). */
  rgb(): Uint8Array {
    return this.#rgb;
  }
}
