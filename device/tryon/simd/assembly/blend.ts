// face-layers.ts blendPixels: the face products' full-resolution pass (blush, contour, bronzer,
// highlighter). Per pixel, in linear light: the shade at the pixel's own luminance detail through
// the material's tone curve, the surface's own chroma let through, the finish's shine (per cell,
// bilinear), laid over the pixel by its coverage. Table look-ups (sRGB → linear, the tone curve,
// linear → sRGB) are gathered lane by lane; the arithmetic runs four pixels at a time.
import { MIN_COVERAGE } from './constants';
import { rampRow } from './ramp';
import { LINEAR_STEPS, LINEAR_TO_SRGB, SRGB_TO_LINEAR } from './tables';

@inline
function linear4(p: usize, c: usize): v128 {
  let v = f32x4.splat(load<f32>(SRGB_TO_LINEAR + (<usize>load<u8>(p + c) << 2)));
  v = f32x4.replace_lane(v, 1, load<f32>(SRGB_TO_LINEAR + (<usize>load<u8>(p + c + 3) << 2)));
  v = f32x4.replace_lane(v, 2, load<f32>(SRGB_TO_LINEAR + (<usize>load<u8>(p + c + 6) << 2)));
  return f32x4.replace_lane(v, 3, load<f32>(SRGB_TO_LINEAR + (<usize>load<u8>(p + c + 9) << 2)));
}

/** colour.ts linearToSrgb's table index: (v · LINEAR_STEPS + 0.5) | 0, clamped (≤ 0 → 0, ≥ 1 → 255). */
@inline
function srgbIndex(v: v128): v128 {
  const i = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v, f32x4.splat(<f32>LINEAR_STEPS)), f32x4.splat(0.5)));
  return i32x4.min_s(i32x4.max_s(i, i32x4.splat(0)), i32x4.splat(LINEAR_STEPS));
}

/**
 * pixels: the mask rect's RGB rows (rw wide; 16 bytes readable past the end); alpha, lo, hi, y0, y1
 * as applyGains. params (16 float32): strength, toneScale, invMean, through, shade r g b, mean r g b,
 * shine r g b (linear), 0. tone: the material's tone table (toneSteps + 1 floats). cells: the
 * per-cell shine (gw x gh), or 0 for a finish without one. scratch: gw + 4 floats, then rw + 4.
 */
export function blendPixels(pixels: usize, rw: i32, alpha: usize, lo: usize, hi: usize, y0: i32, y1: i32,
  params: usize, tone: usize, toneSteps: i32, cells: usize, gw: i32, gh: i32, f: i32, scratch: usize): void {
  const strength = f32x4.splat(load<f32>(params));
  const toneScale = f32x4.splat(load<f32>(params, 4));
  const invMean = f32x4.splat(load<f32>(params, 8));
  const throughS = load<f32>(params, 12);
  const through = f32x4.splat(throughS);
  const cr = f32x4.splat(load<f32>(params, 16));
  const cg = f32x4.splat(load<f32>(params, 20));
  const cb = f32x4.splat(load<f32>(params, 24));
  const mr = f32x4.splat(load<f32>(params, 28));
  const mg = f32x4.splat(load<f32>(params, 32));
  const mb = f32x4.splat(load<f32>(params, 36));
  const sr = f32x4.splat(load<f32>(params, 40));
  const sg = f32x4.splat(load<f32>(params, 44));
  const sb = f32x4.splat(load<f32>(params, 48));
  const yr = f32x4.splat(0.2126);
  const yg = f32x4.splat(0.7152);
  const yb = f32x4.splat(0.0722);
  const minCoverage = f32x4.splat(MIN_COVERAGE);
  const half = f32x4.splat(0.5);
  const lastTone = i32x4.splat(toneSteps);
  const lane = i32x4(0, 1, 2, 3);
  const row = scratch;
  const shine = scratch + ((<usize>gw + 4) << 2);
  for (let y = y0; y < y1; y++) {
    const xa = load<i32>(lo + (<usize>y << 2));
    const xb = load<i32>(hi + (<usize>y << 2));
    if (xa >= xb) continue;
    if (cells) {
      const gy = min(<f32>(gh - 1), max(<f32>0, (<f32>y + 0.5) / <f32>f - 0.5));
      const c0 = <i32>Mathf.floor(gy);
      const c1 = min(gh - 1, c0 + 1);
      const wy = gy - <f32>c0;
      for (let c = 0; c < gw; c++) {
        const a = load<f32>(cells + (<usize>(c0 * gw + c) << 2));
        store<f32>(row + (<usize>c << 2), a + wy * (load<f32>(cells + (<usize>(c1 * gw + c) << 2)) - a));
      }
      rampRow(row, 1, gw, f, rw, xa, xb, shine);
    }
    const end = i32x4.splat(xb);
    let p = pixels + <usize>((y * rw + xa) * 3);
    for (let x = xa; x < xb; x += 4, p += 12) {
      let a = f32x4.mul(v128.load(alpha + (<usize>(y * rw + x) << 2)), strength);
      const on = v128.and(f32x4.gt(a, minCoverage), i32x4.lt_s(i32x4.add(i32x4.splat(x), lane), end));
      if (!v128.any_true(on)) continue;
      a = v128.and(a, on);
      const r = linear4(p, 0);
      const g = linear4(p, 1);
      const b = linear4(p, 2);
      const lum = f32x4.add(f32x4.add(f32x4.mul(r, yr), f32x4.mul(g, yg)), f32x4.mul(b, yb));
      const ti = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(lum, toneScale), half)), lastTone);
      let t = f32x4.splat(load<f32>(tone + (<usize>i32x4.extract_lane(ti, 0) << 2)));
      t = f32x4.replace_lane(t, 1, load<f32>(tone + (<usize>i32x4.extract_lane(ti, 1) << 2)));
      t = f32x4.replace_lane(t, 2, load<f32>(tone + (<usize>i32x4.extract_lane(ti, 2) << 2)));
      t = f32x4.replace_lane(t, 3, load<f32>(tone + (<usize>i32x4.extract_lane(ti, 3) << 2)));
      let tr = f32x4.mul(cr, t);
      let tg = f32x4.mul(cg, t);
      let tb = f32x4.mul(cb, t);
      if (throughS > 0) {
        // The surface's own chroma around its mean, at this pixel's brightness.
        const d = f32x4.mul(lum, invMean);
        tr = f32x4.add(tr, f32x4.mul(through, f32x4.sub(r, f32x4.mul(mr, d))));
        tg = f32x4.add(tg, f32x4.mul(through, f32x4.sub(g, f32x4.mul(mg, d))));
        tb = f32x4.add(tb, f32x4.mul(through, f32x4.sub(b, f32x4.mul(mb, d))));
      }
      if (cells) {
        const s = v128.load(shine + (<usize>x << 2));
        tr = f32x4.add(tr, f32x4.mul(s, sr));
        tg = f32x4.add(tg, f32x4.mul(s, sg));
        tb = f32x4.add(tb, f32x4.mul(s, sb));
      }
      const ir = srgbIndex(f32x4.add(r, f32x4.mul(a, f32x4.sub(tr, r))));
      const ig = srgbIndex(f32x4.add(g, f32x4.mul(a, f32x4.sub(tg, g))));
      const ib = srgbIndex(f32x4.add(b, f32x4.mul(a, f32x4.sub(tb, b))));
      // Only the lanes painted are written: the others keep their bytes exactly.
      if (i32x4.extract_lane(on, 0)) {
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ir, 0)));
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ig, 0)), 1);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ib, 0)), 2);
      }
      if (i32x4.extract_lane(on, 1)) {
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ir, 1)), 3);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ig, 1)), 4);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ib, 1)), 5);
      }
      if (i32x4.extract_lane(on, 2)) {
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ir, 2)), 6);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ig, 2)), 7);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ib, 2)), 8);
      }
      if (i32x4.extract_lane(on, 3)) {
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ir, 3)), 9);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ig, 3)), 10);
        store<u8>(p, load<u8>(LINEAR_TO_SRGB + <usize>i32x4.extract_lane(ib, 3)), 11);
      }
    }
  }
}
