/**
 * Anti-aliased tapered strokes into a coverage buffer (lip liner, lashes, brow hairs): each stroke
 * is a capsule around a segment whose width runs from w0 to w1; coverage is the distance to the
 * segment against the half-width, with a one-pixel ramp, combined by max so crossing strokes do not
 * add up (or cancel, as an even-odd polygon fill would).
 */
import type { MaskRect } from '../raster.ts';

export function stroke(alpha: Float32Array, rect: MaskRect, x0: number, y0: number, x1: number, y1: number, w0: number, w1: number, weight = 1): void {
  const reach = Math.max(w0, w1) / 2 + 1;
  const xa = Math.max(rect.x, Math.floor(Math.min(x0, x1) - reach));
  const xb = Math.min(rect.x + rect.width - 1, Math.ceil(Math.max(x0, x1) + reach));
  const ya = Math.max(rect.y, Math.floor(Math.min(y0, y1) - reach));
  const yb = Math.min(rect.y + rect.height - 1, Math.ceil(Math.max(y0, y1) + reach));
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy || 1e-9;
  // Nothing past `far` from the segment can be covered (the widest half-width, its ramp, a margin).
  // Per row only the columns within it are visited (a slanted stroke's box is mostly off it): the
  // band along the segment (within far of its line, projecting onto it) and the end discs' boxes.
  const far = Math.max(w0, w1) / 2 + 0.5 + 1e-3;
  const len = Math.sqrt(dx * dx + dy * dy);
  const reachLine = far * len;
  const len2Exact = len * len;
  for (let y = ya; y <= yb; y++) {
    const py = y + 0.5 - y0;
    let lo = Infinity;
    let hi = -Infinity;
    if (py >= -far && py <= far) {
      lo = -far;
      hi = far;
    }
    if (py - dy >= -far && py - dy <= far) {
      lo = Math.min(lo, dx - far);
      hi = Math.max(hi, dx + far);
    }
    if (len > 0) {
      let a = -Infinity;
      let b = Infinity;
      if (dy !== 0) {
        const u = (py * dx - reachLine) / dy;
        const v = (py * dx + reachLine) / dy;
        a = Math.min(u, v);
        b = Math.max(u, v);
      } else if (py > far || py < -far) b = -Infinity;
      if (dx !== 0) {
        const u = (-py * dy) / dx;
        const v = (len2Exact - py * dy) / dx;
        a = Math.max(a, Math.min(u, v));
        b = Math.min(b, Math.max(u, v));
      } else if (py * dy < 0 || py * dy > len2Exact) b = -Infinity;
      if (a <= b) {
        lo = Math.min(lo, a);
        hi = Math.max(hi, b);
      }
    }
    // Columns whose centre (x + 0.5 - x0) lies in [lo, hi] (rounded outwards).
    const xs = Math.max(xa, Math.floor(lo + x0 - 0.5));
    const xe = Math.min(xb, Math.ceil(hi + x0 - 0.5));
    for (let x = xs; x <= xe; x++) {
      const i = (y - rect.y) * rect.width + (x - rect.x);
      // Already at the most this stroke can give (crossing strokes combine by max).
      if (alpha[i] >= weight) continue;
      const px = x + 0.5 - x0;
      const t = Math.min(1, Math.max(0, (px * dx + py * dy) / len2));
      const ex = px - t * dx;
      const ey = py - t * dy;
      const half = (w0 + (w1 - w0) * t) / 2;
      // Off the capsule: no square root there (a margin keeps the skip exact).
      const d2 = ex * ex + ey * ey;
      const edge = half + 0.5 + 1e-6;
      if (d2 > edge * edge) continue;
      const c = Math.min(1, Math.max(0, half + 0.5 - Math.sqrt(d2))) * weight;
      if (c > alpha[i]) alpha[i] = c;
    }
  }
}

/** Catmull-Rom subdivision of a closed loop (`steps` points per edge): a smooth line through the mesh points. */
export function smoothLoop(points: ReadonlyArray<readonly [number, number]>, steps: number): Array<[number, number]> {
  const n = points.length;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const p0 = points[(i - 1 + n) % n];
    const p1 = points[i];
    const p2 = points[(i + 1) % n];
    const p3 = points[(i + 2) % n];
    for (let s = 0; s < steps; s++) {
      const t = s / steps;
      const t2 = t * t;
      const t3 = t2 * t;
      const f = (a: number, b: number, c: number, d: number) => 0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
      out.push([f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1])]);
    }
  }
  return out;
}

/** A fixed pseudo-random number in [0, 1) for stroke `k` (placement jitter that never changes between frames). */
export function hash01(k: number): number {
  const v = Math.sin(k * 12.9898 + 78.233) * 43758.5453;
  return v - Math.floor(v);
}

/**
 * The point at parameter q (0..1, by arc length) along an open polyline, as a function of q: the
 * line is measured once for all the points taken on it (a lash per point).
 */
export function alongLine(line: ReadonlyArray<readonly [number, number]>): (q: number) => [number, number] {
  const lengths = line.slice(1).map((p, i) => Math.hypot(p[0] - line[i][0], p[1] - line[i][1]));
  const total = lengths.reduce((a, b) => a + b, 0);
  return (q) => {
    let target = q * total;
    for (let i = 0; i < lengths.length; i++) {
      if (target <= lengths[i] || i === lengths.length - 1) {
        const t = lengths[i] > 0 ? Math.min(1, target / lengths[i]) : 0;
        return [line[i][0] + t * (line[i + 1][0] - line[i][0]), line[i][1] + t * (line[i + 1][1] - line[i][1])];
      }
      target -= lengths[i];
    }
    return [line[0][0], line[0][1]];
  };
}
