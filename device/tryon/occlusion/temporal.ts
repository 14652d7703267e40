/**
 * Temporal hysteresis of the lips' occlusion gate, per track. The mouth gate classifies each pixel
 * by colour against this frame's lip and skin models; near its thresholds camera noise and the
 * models' own jitter flip pixels at the lip edge from frame to frame, so the painted share of the
 * lips jumped by 5-8 % between consecutive frames of a still smile (demo clip, frames 98-103).
 *
 * The previous frame's visibility is carried to this frame by the mouth's own motion (an affine
 * map fitted to the lip landmarks, current → previous), and where this frame sees MORE lip than
 * that, its value is taken only halfway, unless the rise is a jump (a finger or tongue leaving).
 * Where it sees less (more than a whisker less), it is taken at once: a tongue or finger arriving
 * is never painted for a frame while the gate catches up (tests/tryon/occlusion-hands.test.ts).
 * Smoothing only the rises still takes most of the flicker out (the demo clip's worst pairs
 * 0.877 -> 0.886, p5 0.906 -> 0.926). A gap in time or a mouth that jumped (a new shopper)
 * starts over.
 */
import { LIPS_INNER, LIPS_OUTER, type Point } from '../../vision/regions.ts';
import type { MaskRect } from '../raster.ts';

/** Share of this frame's value kept when it differs from the carried one by less than JUMP (rising) or DROP (falling). */
const KEEP_NEW = 0.5;
/** A change at least this large (0..1 visibility) is a real one, taken at once. */
const JUMP = 0.5;
/**
 * Less visible than the carried value by more than this is taken at once: something covering the
 * lips must never be painted for a frame while the gate catches up (only a rise back to visible
 * is eased in).
 */
const DROP = 0.1;
/** Frames further apart than this (ms) share no history. */
const MAX_GAP_MS = 200;
/** A mouth whose landmarks moved more than this share of its width since the last frame starts over. */
const MAX_SHIFT = 0.35;

const ANCHORS = [...LIPS_OUTER, ...LIPS_INNER];

/** What one track's gate remembers from its previous frame (owned by the stage's GateScratch: never arena memory). */
export interface GateMemory {
  rect: MaskRect | null;
  vis: Float32Array;
  /** Anchor points (x, y) of the previous frame. */
  points: Float64Array;
  at: number;
}

export const newGateMemory = (): GateMemory => ({ rect: null, vis: new Float32Array(0), points: new Float64Array(ANCHORS.length * 2), at: 0 });

/**
 * Least-squares affine map (x, y) → (x', y') from `from` to `to` (interleaved points), as
 * [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f; null when degenerate.
 */
function fitAffine(from: Float64Array, to: Float64Array): number[] | null {
  const n = from.length / 2;
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  let su = 0, sxu = 0, syu = 0, sv = 0, sxv = 0, syv = 0;
  for (let k = 0; k < n; k++) {
    const x = from[2 * k];
    const y = from[2 * k + 1];
    const u = to[2 * k];
    const v = to[2 * k + 1];
    sx += x; sy += y; sxx += x * x; sxy += x * y; syy += y * y;
    su += u; sxu += x * u; syu += y * u;
    sv += v; sxv += x * v; syv += y * v;
  }
  // Normal equations [[sxx sxy sx] [sxy syy sy] [sx sy n]] · p = rhs, by Cramer's rule.
  const det = sxx * (syy * n - sy * sy) - sxy * (sxy * n - sy * sx) + sx * (sxy * sy - syy * sx);
  if (Math.abs(det) < 1e-9) return null;
  const solve = (r0: number, r1: number, r2: number): [number, number, number] => [
    (r0 * (syy * n - sy * sy) - sxy * (r1 * n - sy * r2) + sx * (r1 * sy - syy * r2)) / det,
    (sxx * (r1 * n - sy * r2) - r0 * (sxy * n - sy * sx) + sx * (sxy * r2 - r1 * sx)) / det,
    (sxx * (syy * r2 - r1 * sy) - sxy * (sxy * r2 - r1 * sx) + r0 * (sxy * sy - syy * sx)) / det,
  ];
  return [...solve(sxu, syu, su), ...solve(sxv, syv, sv)];
}

/**
 * Settles `vis` (this frame's lips visibility over `rect`) against the track's memory, then
 * remembers it. `at`: the frame's capture time (ms).
 */
export function settleLips(memory: GateMemory, landmarks: ReadonlyArray<Point>, rect: MaskRect, vis: Float32Array, at: number): void {
  const points = new Float64Array(ANCHORS.length * 2);
  for (const [k, i] of ANCHORS.entries()) {
    points[2 * k] = landmarks[i][0];
    points[2 * k + 1] = landmarks[i][1];
  }
  const prev = memory.rect;
  if (prev && Math.abs(at - memory.at) <= MAX_GAP_MS && !jumped(memory.points, points)) {
    const map = fitAffine(points, memory.points);
    if (map) blendCarried(memory, prev, map, rect, vis);
  }
  const n = rect.width * rect.height;
  if (memory.vis.length < n) memory.vis = new Float32Array(n);
  memory.vis.set(vis.subarray(0, n));
  memory.rect = { ...rect };
  memory.points = points;
  memory.at = at;
}

function jumped(before: Float64Array, now: Float64Array): boolean {
  // Mouth width from the corners (LIPS_OUTER starts at one corner; the other is halfway round).
  const half = LIPS_OUTER.length / 2;
  const width = Math.hypot(now[0] - now[2 * half], now[1] - now[2 * half + 1]) || 1;
  let shift = 0;
  for (let k = 0; k < now.length; k += 2) shift += Math.hypot(now[k] - before[k], now[k + 1] - before[k + 1]);
  return shift / (now.length / 2) > MAX_SHIFT * width;
}

/** vis ← hysteresis of vis against the memory's visibility sampled (bilinear) at each pixel carried by `map`. */
function blendCarried(memory: GateMemory, prev: MaskRect, map: number[], rect: MaskRect, vis: Float32Array): void {
  const [a, b, c, d, e, f] = map;
  const old = memory.vis;
  const pw = prev.width;
  for (let y = 0; y < rect.height; y++) {
    const cy = rect.y + y + 0.5;
    for (let x = 0; x < rect.width; x++) {
      const cx = rect.x + x + 0.5;
      // Pixel centre → previous frame → previous rect's pixel grid.
      const px = a * cx + b * cy + c - prev.x - 0.5;
      const py = d * cx + e * cy + f - prev.y - 0.5;
      // Below 0 the floor is negative (skipped); from 0 on, | 0 is the floor (far below 2^31).
      if (px < 0 || py < 0) continue;
      const ix = px | 0;
      const iy = py | 0;
      if (ix + 1 >= pw || iy + 1 >= prev.height) continue;
      const fx = px - ix;
      const fy = py - iy;
      const o = iy * pw + ix;
      const carried = (old[o] * (1 - fx) + old[o + 1] * fx) * (1 - fy) + (old[o + pw] * (1 - fx) + old[o + pw + 1] * fx) * fy;
      const i = y * rect.width + x;
      const change = vis[i] - carried;
      if (change < JUMP && -change < DROP) vis[i] = carried + KEEP_NEW * change;
    }
  }
}
