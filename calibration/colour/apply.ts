/**
 * The profile applied to camera frames, in place, once per frame right after capture (the daemon
 * does it before the vision stage), so the skin analysis, the renderer and the display all see
 * true colours and the renderer's catalog colours (true sRGB) sit on a true-colour face.
 *
 * The per-pixel work is table look-ups: each channel's code value → its white-balanced, re-toned
 * linear value already multiplied into the matrix (the model is separable up to the matrix), the
 * root-polynomial cross terms from per-channel square roots, and a 16384-step linear → sRGB table.
 * Every table is filled by culori (decode/encode) and the model (model.ts); the hot loop only adds.
 */
import { converter } from 'culori';
import { balance, type ColourModel } from './model.ts';

const ENCODE_STEPS = 16384;
let encodeTable: Uint8Array | undefined;

/** Linear → sRGB code, 16384 steps (under 0.25 of a code value apart in the darks), filled by culori. */
function encoder(): Uint8Array {
  if (encodeTable) return encodeTable;
  const toRgb = converter('rgb');
  encodeTable = Uint8Array.from({ length: ENCODE_STEPS + 1 }, (_, i) => {
    const v = i / ENCODE_STEPS;
    const c = toRgb({ mode: 'lrgb', r: v, g: v, b: v });
    return Math.round(Math.min(1, Math.max(0, c.r)) * 255);
  });
  return encodeTable;
}

export interface ColourCorrector {
  /** Corrects packed RGB pixels in place. */
  apply(data: Uint8Array): void;
}

export function createColourCorrector(model: ColourModel): ColourCorrector {
  const toLinear = converter('lrgb');
  const balanced = Array.from({ length: 256 }, (_, v) => {
    const c = toLinear({ mode: 'rgb', r: v / 255, g: v / 255, b: v / 255 });
    return balance(model, [c.r, c.g, c.b]);
  });
  // linear[(channel * 256 + code) * 3 + out] = matrix[out][channel] · balanced channel value
  const linear = new Float32Array(3 * 256 * 3);
  const roots = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      // Pre-scaled to encoder steps (+0.5 split over the three terms rounds the sum), so the loop adds and truncates.
      for (let o = 0; o < 3; o++) linear[(c * 256 + v) * 3 + o] = model.matrix[o][c] * balanced[v][c] * ENCODE_STEPS + 0.5 / 3;
      roots[c * 256 + v] = Math.sqrt(balanced[v][c]);
    }
  }
  const cross = model.method === 'root-polynomial' ? Float32Array.from(model.matrix.flatMap((row) => row.slice(3, 6).map((k) => k * ENCODE_STEPS))) : null;
  const enc = encoder();

  return {
    apply(data) {
      for (let p = 0; p < data.length; p += 3) {
        const r = data[p] * 3;
        const g = (256 + data[p + 1]) * 3;
        const b = (512 + data[p + 2]) * 3;
        let or = linear[r] + linear[g] + linear[b];
        let og = linear[r + 1] + linear[g + 1] + linear[b + 1];
        let ob = linear[r + 2] + linear[g + 2] + linear[b + 2];
        if (cross) {
          const sr = roots[data[p]];
          const sg = roots[256 + data[p + 1]];
          const sb = roots[512 + data[p + 2]];
          const rg = sr * sg;
          const gb = sg * sb;
          const rb = sr * sb;
          or += cross[0] * rg + cross[1] * gb + cross[2] * rb;
          og += cross[3] * rg + cross[4] * gb + cross[5] * rb;
          ob += cross[6] * rg + cross[7] * gb + cross[8] * rb;
        }
        data[p] = enc[or <= 0 ? 0 : or >= ENCODE_STEPS ? ENCODE_STEPS : or | 0];
        data[p + 1] = enc[og <= 0 ? 0 : og >= ENCODE_STEPS ? ENCODE_STEPS : og | 0];
        data[p + 2] = enc[ob <= 0 ? 0 : ob >= ENCODE_STEPS ? ENCODE_STEPS : ob | 0];
      }
    },
  };
}
