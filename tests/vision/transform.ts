/** Test framing helpers: a shopper-like window around a face, and exact rotate/scale of a frame. */
import type { RgbImage } from '../../device/vision/image-ops.ts';
import type { Box } from '../../device/vision/face.ts';

/** A 4:3 window about four faces wide around the face, as the mirror's camera frames one person. */
export function shopperWindow(face: Box, facesWide = 4): Box {
  const width = face.width * facesWide;
  return { x: face.x + face.width / 2 - width / 2, y: face.y + face.height / 2 - (width * 3) / 8, width, height: (width * 3) / 4 };
}

/**
 * The image rotated by `angleDeg` (clockwise on screen) about its centre and scaled by `scale`,
 * on a canvas of the scaled size (corners filled grey, as a camera would see background).
 * `map` takes a point of the source image to the result.
 */
export function transformImage(src: RgbImage, angleDeg: number, scale: number): { image: RgbImage; map: (x: number, y: number) => [number, number] } {
  const width = Math.round(src.width * scale);
  const height = Math.round(src.height * scale);
  const a = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const scx = src.width / 2;
  const scy = src.height / 2;
  const dcx = width / 2;
  const dcy = height / 2;
  const map = (x: number, y: number): [number, number] => {
    const dx = (x - scx) * scale;
    const dy = (y - scy) * scale;
    return [dcx + cos * dx - sin * dy, dcy + sin * dx + cos * dy];
  };
  const data = new Uint8Array(width * height * 3).fill(110);
  // Box-filter the source when shrinking so 0.5x looks like a camera, not like point sampling.
  const taps = scale < 1 ? Math.ceil(1 / scale) : 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let ty = 0; ty < taps; ty++)
        for (let tx = 0; tx < taps; tx++) {
          const px = x + (tx + 0.5) / taps - 0.5 - dcx;
          const py = y + (ty + 0.5) / taps - 0.5 - dcy;
          // Inverse map: rotate back, unscale.
          const sx = (cos * px + sin * py) / scale + scx;
          const sy = (-sin * px + cos * py) / scale + scy;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          if (x0 < 0 || y0 < 0 || x0 + 1 >= src.width || y0 + 1 >= src.height) continue;
          const fx = sx - x0;
          const fy = sy - y0;
          const i00 = (y0 * src.width + x0) * 3;
          const i10 = i00 + 3;
          const i01 = i00 + src.width * 3;
          const i11 = i01 + 3;
          const w00 = (1 - fx) * (1 - fy);
          const w10 = fx * (1 - fy);
          const w01 = (1 - fx) * fy;
          const w11 = fx * fy;
          r += src.data[i00] * w00 + src.data[i10] * w10 + src.data[i01] * w01 + src.data[i11] * w11;
          g += src.data[i00 + 1] * w00 + src.data[i10 + 1] * w10 + src.data[i01 + 1] * w01 + src.data[i11 + 1] * w11;
          b += src.data[i00 + 2] * w00 + src.data[i10 + 2] * w10 + src.data[i01 + 2] * w01 + src.data[i11 + 2] * w11;
          n++;
        }
      if (n === 0) continue;
      const o = (y * width + x) * 3;
      data[o] = Math.round(r / n);
      data[o + 1] = Math.round(g / n);
      data[o + 2] = Math.round(b / n);
    }
  }
  return { image: { width, height, data }, map };
}
