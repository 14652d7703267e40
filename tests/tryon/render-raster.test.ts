/**
 * The rasteriser's fast paths (device/tryon/raster.ts, region-masks.ts) against plain
 * computations: the covered spans every per-pixel pass walks (foundation visits only them), and the
 * wide-feather masks that are filled at a coarse resolution and upsampled with flat runs.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../device/core/seeded-random.ts';
import { boxBlur, coverageSpans, cutOut, fillPolygons, type CoverageMask } from '../../device/tryon/raster.ts';
import { polygonMask } from '../../device/tryon/region-masks.ts';
import { stroke } from '../../device/tryon/render/strokes.ts';

/** A mask over a 60x40 rect at (10, 5): an ellipse, a hole row, a fully empty row, a pixel alone. */
function sample(): CoverageMask {
  const rect = { x: 10, y: 5, width: 60, height: 40 };
  const ellipse = Array.from({ length: 48 }, (_, k): [number, number] => [40 + 22 * Math.cos((k * Math.PI) / 24), 24 + 14 * Math.sin((k * Math.PI) / 24)]);
  const alpha = fillPolygons([ellipse], rect);
  alpha.fill(0, 20 * 60, 21 * 60);
  alpha[39 * 60 + 59] = 0.5;
  return { rect, alpha };
}

describe('coverageSpans', () => {
  it('gives each row its first and past-last column above the threshold, and the box of them', () => {
    const mask = sample();
    const { width, height } = mask.rect;
    for (const threshold of [0, 0.003, 0.4]) {
      const lo = new Int32Array(height);
      const hi = new Int32Array(height);
      const box = coverageSpans(mask, threshold, lo, hi);
      let x0 = width;
      let x1 = 0;
      let y0 = height;
      let y1 = 0;
      for (let y = 0; y < height; y++) {
        const covered = [...mask.alpha.subarray(y * width, (y + 1) * width)].flatMap((a, x) => (a > threshold ? [x] : []));
        if (covered.length === 0) {
          expect(lo[y], `row ${y} is empty`).toBeGreaterThanOrEqual(hi[y]);
          continue;
        }
        expect([lo[y], hi[y]], `row ${y}`).toEqual([covered[0], covered[covered.length - 1] + 1]);
        x0 = Math.min(x0, covered[0]);
        x1 = Math.max(x1, covered[covered.length - 1] + 1);
        y0 = Math.min(y0, y);
        y1 = y + 1;
      }
      expect(box).toEqual({ x0, y0, x1, y1 });
      // The lone pixel in the bottom-right corner widens the box to the rect's edge.
      expect(box!.x1).toBe(width);
      expect(box!.y1).toBe(height);
      expect(lo[20]).toBeGreaterThanOrEqual(hi[20]);
    }
  });

  it('is null for a mask with nothing above the threshold', () => {
    const mask: CoverageMask = { rect: { x: 0, y: 0, width: 8, height: 4 }, alpha: new Float32Array(32).fill(0.002) };
    expect(coverageSpans(mask, 0.003, new Int32Array(4), new Int32Array(4))).toBeNull();
  });
});

describe('wide-feather masks (coarse fill, upsampled with flat runs)', () => {
  const square: Array<[number, number]> = [
    [100, 80],
    [300, 80],
    [300, 240],
    [100, 240],
  ];
  const feather = 20;
  const mask = polygonMask([square], feather, { width: 640, height: 480 })!;
  const { rect, alpha } = mask;
  const at = (x: number, y: number) => alpha[(y - rect.y) * rect.width + (x - rect.x)];

  it('is exactly 1 deep inside and ramps smoothly and monotonically across the edge', () => {
    for (let y = 80 + 2 * feather; y < 240 - 2 * feather; y += 7) for (let x = 100 + 2 * feather; x < 300 - 2 * feather; x++) expect(at(x, y)).toBe(1);
    let previous = -1;
    for (let x = rect.x; x <= 100 + feather + 4; x++) {
      const v = at(x, 160);
      expect(v).toBeGreaterThanOrEqual(previous);
      expect(v - Math.max(0, previous)).toBeLessThan(0.1);
      previous = v;
    }
    // Half covered on the outline itself.
    expect(at(100, 160)).toBeGreaterThan(0.35);
    expect(at(100, 160)).toBeLessThan(0.65);
  });

  it('is the same on both sides of a symmetric shape (every coarse cell interpolated, none skipped)', () => {
    for (let y = rect.y; y < rect.y + rect.height; y += 3)
      for (let d = 0; d < rect.width / 2; d += 1) expect(Math.abs(at(200 - 1 - d, y) - at(200 + d, y)), `row ${y}, ±${d}`).toBeLessThan(0.05);
  });
});

/** The largest coverage on the rect's outermost rows and columns. */
function borderMax(mask: CoverageMask): number {
  const { width, height } = mask.rect;
  let max = 0;
  for (let x = 0; x < width; x++) max = Math.max(max, mask.alpha[x], mask.alpha[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) max = Math.max(max, mask.alpha[y * width], mask.alpha[y * width + width - 1]);
  return max;
}

describe('feathered masks fade to exactly 0 on their rect\'s border (no step where the box ends)', () => {
  // A tilted ellipse off the pixel grid, as the shape-placed zones (blush, contour) are.
  const ellipse = Array.from({ length: 40 }, (_, k): [number, number] => {
    const t = (k * Math.PI) / 20;
    return [320.3 + 70 * Math.cos(t) * 0.94 - 30 * Math.sin(t) * 0.34, 240.7 + 70 * Math.cos(t) * 0.34 + 30 * Math.sin(t) * 0.94];
  });

  it('at every feather width, fine (full resolution) and wide (coarse grid, upsampled)', () => {
    for (const feather of [0.5, 1.2, 3.4, 7.9, 8, 9.7, 12.5, 15.9, 16, 21.3, 33.3, 47]) {
      const mask = polygonMask([ellipse], feather, { width: 640, height: 480 })!;
      expect(borderMax(mask), `feather ${feather}`).toBe(0);
      // Not trivially: the mask is covered inside.
      expect(mask.alpha[Math.floor(mask.rect.height / 2) * mask.rect.width + Math.floor(mask.rect.width / 2)]).toBeGreaterThan(0.5);
    }
  });
});

describe('fillPolygons with a row step (the colour models sample every few rows)', () => {
  // A ring (even-odd) reaching past the rect on every side, and a thin sliver: edges above, below and across the sampled rows.
  const outer = Array.from({ length: 40 }, (_, k): [number, number] => [50 + 46 * Math.cos((k * Math.PI) / 20), 31.3 + 30 * Math.sin((k * Math.PI) / 20)]);
  const inner = Array.from({ length: 24 }, (_, k): [number, number] => [52 + 20 * Math.cos((k * Math.PI) / 12), 30.7 + 9 * Math.sin((k * Math.PI) / 12)]);
  const sliver: Array<[number, number]> = [[20.2, 10.6], [80.9, 12.1], [21.5, 11.4]];
  const rect = { x: 8, y: 6, width: 85, height: 47 };

  it('gives rows 0, step, 2·step, … exactly as the fill of the whole rect and as a fill of that row alone', () => {
    const polys = [outer, inner, sliver];
    const whole = fillPolygons(polys, rect);
    for (const step of [1, 2, 3, 4, 7, 46, 47, 60]) {
      const rows = Math.ceil(rect.height / step);
      const strided = fillPolygons(polys, rect, step);
      expect(strided.length, `step ${step}`).toBe(rows * rect.width);
      for (let r = 0; r < rows; r++) {
        const y = r * step;
        const single = fillPolygons(polys, { ...rect, y: rect.y + y, height: 1 });
        const want = [...whole.subarray(y * rect.width, (y + 1) * rect.width)];
        expect([...strided.subarray(r * rect.width, (r + 1) * rect.width)], `step ${step}, row ${y}`).toEqual(want);
        expect([...single], `row ${y} alone`).toEqual(want);
      }
    }
    // The rows are not empty: the ring covers most of them, the sliver a few.
    expect(whole.reduce((s, v) => s + v, 0)).toBeGreaterThan(1000);
  });
});

describe('stroke (lip liner, lashes, brow hairs)', () => {
  /** The capsule's coverage at every pixel of its box, by the plain formula (no skipped pixels). */
  function plainStroke(alpha: Float32Array, rect: { x: number; y: number; width: number; height: number }, x0: number, y0: number, x1: number, y1: number, w0: number, w1: number, weight: number): void {
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1e-9;
    for (let y = rect.y; y < rect.y + rect.height; y++)
      for (let x = rect.x; x < rect.x + rect.width; x++) {
        const px = x + 0.5 - x0;
        const py = y + 0.5 - y0;
        const t = Math.min(1, Math.max(0, (px * dx + py * dy) / len2));
        const half = (w0 + (w1 - w0) * t) / 2;
        const c = Math.min(1, Math.max(0, half + 0.5 - Math.hypot(px - t * dx, py - t * dy))) * weight;
        const i = (y - rect.y) * rect.width + (x - rect.x);
        if (c > alpha[i]) alpha[i] = c;
      }
  }

  it('is the plain capsule coverage, combined by max, for crossing slanted, tapered and faint strokes', () => {
    const rect = { x: 3, y: 2, width: 70, height: 50 };
    const fast = new Float32Array(rect.width * rect.height);
    const plain = new Float32Array(rect.width * rect.height);
    const rnd = mulberry32(7);
    for (let k = 0; k < 60; k++) {
      const args = [3 + rnd() * 70, 2 + rnd() * 50, 3 + rnd() * 70, 2 + rnd() * 50, 0.5 + rnd() * 6, 0.3 + rnd() * 3, k % 3 === 0 ? 0.75 : 1] as const;
      stroke(fast, rect, ...args);
      plainStroke(plain, rect, ...args);
    }
    let covered = 0;
    for (let i = 0; i < fast.length; i++) {
      expect(Math.abs(fast[i] - plain[i]), `pixel ${i}`).toBeLessThanOrEqual(1e-7);
      if (plain[i] > 0) covered++;
    }
    expect(covered).toBeGreaterThan(500);
  });

  it('visits every pixel it covers on each row: horizontal, vertical, zero-length, thin, wide and off-rect strokes', () => {
    // stroke() walks only each row's columns near the segment: a span cut short shows here as a missed pixel.
    const rect = { x: 5, y: 4, width: 60, height: 45 };
    const fast = new Float32Array(rect.width * rect.height);
    const plain = new Float32Array(rect.width * rect.height);
    const rnd = mulberry32(11);
    const strokes: Array<readonly [number, number, number, number, number, number, number]> = [];
    for (let k = 0; k < 80; k++) {
      const x0 = rnd() * 75;
      const y0 = rnd() * 58;
      const kind = k % 5;
      const x1 = kind === 1 || kind === 3 ? x0 : x0 + (rnd() - 0.5) * 50;
      const y1 = kind === 2 || kind === 3 ? y0 : y0 + (rnd() - 0.5) * 50;
      strokes.push([x0, y0, x1, y1, k % 7 === 0 ? 0.2 + rnd() * 0.5 : rnd() * 12, rnd() * 12, k % 2 ? 0.75 : 1]);
    }
    let covered = 0;
    for (const args of strokes) {
      fast.fill(0);
      plain.fill(0);
      stroke(fast, rect, ...args);
      plainStroke(plain, rect, ...args);
      for (let i = 0; i < fast.length; i++) {
        if (Math.abs(fast[i] - plain[i]) > 1e-7) expect.fail(`stroke ${args.join(', ')}: pixel ${i} ${fast[i]} vs ${plain[i]}`);
        if (plain[i] > 0) covered++;
      }
    }
    expect(covered).toBeGreaterThan(2000);
  });
});

describe('cutOut (a hole out of a mask: the eye opening, the mouth opening)', () => {
  it('is exactly alpha × (1 − the hole\'s coverage over the whole rect), also for a hole partly off the rect', () => {
    const rect = { x: 4, y: 3, width: 64, height: 48 };
    const holes: Array<Array<[number, number]>> = [
      Array.from({ length: 16 }, (_, k): [number, number] => [30 + 12 * Math.cos((k * Math.PI) / 8), 22.4 + 6 * Math.sin((k * Math.PI) / 8)]),
      [[50.3, -6.2], [75.8, 8.7], [55.1, 12.9]],
      [[10.6, 40.2], [30.1, 58.9], [6.4, 57.7]],
    ];
    for (const hole of holes) {
      const alpha = Float32Array.from({ length: rect.width * rect.height }, (_, i) => 0.2 + 0.8 * Math.abs(Math.sin(i * 0.37)));
      const want = alpha.slice();
      const cover = fillPolygons([hole], rect);
      for (let i = 0; i < want.length; i++) want[i] *= 1 - Math.min(1, cover[i]);
      cutOut(alpha, rect, [hole]);
      expect([...alpha]).toEqual([...want]);
      expect(cover.some((c) => c > 0.5)).toBe(true);
    }
  });
});

describe('boxBlur', () => {
  it('is the mean over the (2r+1)² window with edges clamped, at each radius, on a rect wider than tall and one taller than wide', () => {
    for (const [width, height] of [[37, 11], [9, 23]])
      for (const r of [1, 2, 5]) {
        const src = Float32Array.from({ length: width * height }, (_, i) => ((i * 7919) % 101) / 100);
        const out = boxBlur(src, width, height, r);
        const at = (x: number, y: number) => src[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
        let worst = 0;
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            let sum = 0;
            for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) sum += at(x + dx, y + dy);
            worst = Math.max(worst, Math.abs(out[y * width + x] - sum / (2 * r + 1) ** 2));
          }
        expect(worst).toBeLessThan(1e-5);
      }
  });
});
