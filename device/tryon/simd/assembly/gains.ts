// skin-grid.ts applyGains: per-cell linear-light gains laid over a mask's covered pixels, weighted
// by coverage, bilinear between cell centres; the frame's 8-bit values times (1 + a·g).
import { MIN_COVERAGE, SWIZZLE_B, SWIZZLE_G, SWIZZLE_R } from './constants';
import { rampRow } from './ramp';

/**
 * pixels: the mask rect's RGB rows (rw wide; 16 bytes readable past the end), its coverage `alpha`
 * (rw x rows) and each row's covered span [lo[y], hi[y]) for rows y0..y1 - 1. gains: gw x gh cells
 * of 3, sRGB-domain gains minus 1 (3 floats readable past the end). scratch: gw x 3 + 4 floats,
 * then three planes of rw + 4.
 */
export function applyGains(pixels: usize, rw: i32, alpha: usize, lo: usize, hi: usize, y0: i32, y1: i32,
  gains: usize, gw: i32, gh: i32, f: i32, scratch: usize): void {
  const n = gw * 3;
  const row = scratch;
  const gR = row + ((<usize>n + 4) << 2);
  const gG = gR + ((<usize>rw + 4) << 2);
  const gB = gG + ((<usize>rw + 4) << 2);
  const swR = v128.load(SWIZZLE_R);
  const swG = v128.load(SWIZZLE_G);
  const swB = v128.load(SWIZZLE_B);
  const minCoverage = f32x4.splat(MIN_COVERAGE);
  const one = f32x4.splat(1);
  // Rounding by adding 1.5 * 2^23: the integer lands in the mantissa's low bits (trunc_sat costs more on x86).
  const magic = f32x4.splat(12582912.0);
  const magicBits = i32x4.splat(0x4b400000);
  const lane = i32x4(0, 1, 2, 3);
  for (let y = y0; y < y1; y++) {
    const xa = load<i32>(lo + (<usize>y << 2));
    const xb = load<i32>(hi + (<usize>y << 2));
    if (xa >= xb) continue;
    const gy = min(<f32>(gh - 1), max(<f32>0, (<f32>y + 0.5) / <f32>f - 0.5));
    const c0 = <i32>Mathf.floor(gy);
    const c1 = min(gh - 1, c0 + 1);
    const wy = f32x4.splat(gy - <f32>c0);
    const r0 = gains + (<usize>(c0 * n) << 2);
    const r1 = gains + (<usize>(c1 * n) << 2);
    for (let j = 0; j < n; j += 4) {
      const o = <usize>j << 2;
      const a = v128.load(r0 + o);
      v128.store(row + o, f32x4.add(a, f32x4.mul(wy, f32x4.sub(v128.load(r1 + o), a))));
    }
    // Each channel's gains per pixel, planar.
    rampRow(row, 3, gw, f, rw, xa, xb, gR);
    rampRow(row + 4, 3, gw, f, rw, xa, xb, gG);
    rampRow(row + 8, 3, gw, f, rw, xa, xb, gB);
    let p = pixels + <usize>((y * rw + xa) * 3);
    let ia = alpha + (<usize>(y * rw + xa) << 2);
    const end = i32x4.splat(xb);
    for (let x = xa; x < xb; x += 4, p += 12, ia += 16) {
      // Lanes past the span or at coverage ≤ MIN_COVERAGE get a = 0: their bytes are written back unchanged.
      let a = v128.load(ia);
      a = v128.and(a, f32x4.gt(a, minCoverage));
      a = v128.and(a, i32x4.lt_s(i32x4.add(i32x4.splat(x), lane), end));
      const px = v128.load(p);
      const o = <usize>x << 2;
      const oR = f32x4.mul(f32x4.convert_i32x4_s(i8x16.swizzle(px, swR)), f32x4.add(one, f32x4.mul(a, v128.load(gR + o))));
      const oG = f32x4.mul(f32x4.convert_i32x4_s(i8x16.swizzle(px, swG)), f32x4.add(one, f32x4.mul(a, v128.load(gG + o))));
      const oB = f32x4.mul(f32x4.convert_i32x4_s(i8x16.swizzle(px, swB)), f32x4.add(one, f32x4.mul(a, v128.load(gB + o))));
      const iR = i32x4.sub(f32x4.add(oR, magic), magicBits);
      const iG = i32x4.sub(f32x4.add(oG, magic), magicBits);
      const iB = i32x4.sub(f32x4.add(oB, magic), magicBits);
      const packed = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(iR, iG), i16x8.narrow_i32x4_s(iB, iB));
      // Back to RGB triplets; bytes 12-15 (the next pixel's) go back as they were.
      v128.store(p, i8x16.shuffle(packed, px, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 28, 29, 30, 31));
    }
  }
}
