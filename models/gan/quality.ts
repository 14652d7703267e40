/**
 * Quality measures of a GAN refinement on aligned crops (RGB bytes, size x size), each over a set
 * of pixels given as a 0/1 selection:
 *   ssim          structural similarity of luminance (7x7 box windows, the usual constants),
 *                 averaged over the selected pixels: "unchanged outside the made-up regions".
 *   meanDeltaE    mean CIEDE2000 (culori) between two crops after a 5x5 box blur: the colour the
 *                 shopper chose, judged where texture may legitimately move single pixels.
 *   detailEnergy  mean squared high-pass of luminance (pixel minus its 5x5 box mean): all the detail,
 *                 real or not; the classical render ADDS some (hard region edges, drawn shimmer), so
 *                 a refinement that makes it look real may lower it without blurring.
 *   texture       the same high-pass split against the bare photo's (the real skin and lip texture
 *                 under the makeup): `retained` = <hp, hp_photo> / <hp_photo, hp_photo>, the share of
 *                 the photo's texture present (1 = all of it; a blur falls toward 0, added noise does
 *                 not raise it); `synthetic` = mean (hp − hp_photo)², detail the photo does not have
 *                 (the render's hard edges and drawn patterns; a realistic refinement lowers it).
 */
import { differenceCiede2000, type Rgb } from 'culori';

const deltaE2000 = differenceCiede2000();

function luma(img: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * img[i * 3] + 0.587 * img[i * 3 + 1] + 0.114 * img[i * 3 + 2];
  return out;
}

/** Box mean of radius r of one channel (edge windows shrink). */
function boxMean(src: Float32Array, size: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      let n = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(size - 1, x + r); k++, n++) s += src[y * size + k];
      tmp[y * size + x] = s / n;
    }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      let n = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(size - 1, y + r); k++, n++) s += tmp[k * size + x];
      out[y * size + x] = s / n;
    }
  return out;
}

function meanOver(values: ArrayLike<number>, select: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++)
    if (select[i] > 0) {
      s += values[i];
      n++;
    }
  return n ? s / n : NaN;
}

export function ssim(a: Uint8Array, b: Uint8Array, size: number, select: ArrayLike<number>): number {
  const n = size * size;
  const x = luma(a, n);
  const y = luma(b, n);
  const xx = new Float32Array(n);
  const yy = new Float32Array(n);
  const xy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const [mx, my, mxx, myy, mxy] = [x, y, xx, yy, xy].map((c) => boxMean(c, size, 3));
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const map = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const vx = mxx[i] - mx[i] * mx[i];
    const vy = myy[i] - my[i] * my[i];
    const cov = mxy[i] - mx[i] * my[i];
    map[i] = ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
  }
  return meanOver(map, select);
}

function blurRgb(img: Uint8Array, size: number): Float32Array[] {
  const n = size * size;
  return [0, 1, 2].map((c) => {
    const ch = new Float32Array(n);
    for (let i = 0; i < n; i++) ch[i] = img[i * 3 + c];
    return boxMean(ch, size, 2);
  });
}

export function meanDeltaE(a: Uint8Array, b: Uint8Array, size: number, select: ArrayLike<number>): number {
  const ba = blurRgb(a, size);
  const bb = blurRgb(b, size);
  let s = 0;
  let n = 0;
  for (let i = 0; i < size * size; i++) {
    if (!(select[i] > 0)) continue;
    const ca: Rgb = { mode: 'rgb', r: ba[0][i] / 255, g: ba[1][i] / 255, b: ba[2][i] / 255 };
    const cb: Rgb = { mode: 'rgb', r: bb[0][i] / 255, g: bb[1][i] / 255, b: bb[2][i] / 255 };
    s += deltaE2000(ca, cb);
    n++;
  }
  return n ? s / n : NaN;
}

export function detailEnergy(img: Uint8Array, size: number, select: ArrayLike<number>): number {
  const l = luma(img, size * size);
  const m = boxMean(l, size, 2);
  const e = new Float32Array(l.length);
  for (let i = 0; i < l.length; i++) e[i] = (l[i] - m[i]) ** 2;
  return meanOver(e, select);
}

function highpass(img: Uint8Array, size: number): Float32Array {
  const l = luma(img, size * size);
  const m = boxMean(l, size, 2);
  for (let i = 0; i < l.length; i++) l[i] -= m[i];
  return l;
}

export function texture(img: Uint8Array, photo: Uint8Array, size: number, select: ArrayLike<number>): { retained: number; synthetic: number } {
  const h = highpass(img, size);
  const p = highpass(photo, size);
  let dot = 0;
  let pp = 0;
  let diff = 0;
  let n = 0;
  for (let i = 0; i < h.length; i++)
    if (select[i] > 0) {
      dot += h[i] * p[i];
      pp += p[i] * p[i];
      diff += (h[i] - p[i]) ** 2;
      n++;
    }
  return { retained: pp > 0 ? dot / pp : NaN, synthetic: n ? diff / n : NaN };
}

/** 0/1 selection of pixels where `values` passes `test`. */
export function selectWhere(values: ArrayLike<number>, test: (v: number) => boolean): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = test(values[i]) ? 1 : 0;
  return out;
}
