/**
 * The second half of finding a chart: candidate patches that sit on one grid. From a seed patch,
 * neighbours are reached in steps of the local grid vectors (updated as the walk goes, so
 * perspective is followed); up to two pitches are bridged, so a patch the blob finder missed
 * (the black one against the chart's black body) does not split the grid.
 */
import type { Blob } from './blobs.ts';

export interface GridMember {
  blob: Blob;
  /** Integer grid coordinates along the two grid vectors (orientation not known yet). */
  i: number;
  j: number;
}

type Vec = [number, number];

const similar = (a: Blob, b: Blob): boolean => a.area / b.area < 2.5 && b.area / a.area < 2.5;

function neighbours(blobs: readonly Blob[], a: Blob, reach: number): Blob[] {
  const r = reach * Math.sqrt(a.area);
  return blobs.filter((b) => b !== a && similar(a, b) && Math.hypot(b.x - a.x, b.y - a.y) < r);
}

/** The two grid vectors at `seed`: to its nearest neighbour, and to the nearest one roughly across. */
function basisAt(blobs: readonly Blob[], seed: Blob): [Vec, Vec] | null {
  const near = neighbours(blobs, seed, 2)
    .map((b): Vec => [b.x - seed.x, b.y - seed.y])
    .sort((p, q) => Math.hypot(...p) - Math.hypot(...q));
  const u = near[0];
  if (!u) return null;
  const v = near.find((d) => Math.abs(d[0] * u[0] + d[1] * u[1]) / (Math.hypot(...d) * Math.hypot(...u)) < 0.5);
  return v ? [u, v] : null;
}

function walk(blobs: readonly Blob[], seed: Blob, basis: [Vec, Vec]): GridMember[] {
  const members: GridMember[] = [{ blob: seed, i: 0, j: 0 }];
  const taken = new Set<Blob>([seed]);
  const cells = new Set<string>(['0,0']);
  const queue: Array<{ m: GridMember; u: Vec; v: Vec }> = [{ m: members[0], u: basis[0], v: basis[1] }];
  while (queue.length > 0) {
    const { m, u, v } = queue.shift()!;
    const det = u[0] * v[1] - u[1] * v[0];
    for (const b of neighbours(blobs, m.blob, 3.4)) {
      if (taken.has(b)) continue;
      const d: Vec = [b.x - m.blob.x, b.y - m.blob.y];
      const a = (d[0] * v[1] - d[1] * v[0]) / det;
      const c = (u[0] * d[1] - u[1] * d[0]) / det;
      const [ra, rc] = [Math.round(a), Math.round(c)];
      if ((ra === 0 && rc === 0) || Math.abs(ra) > 2 || Math.abs(rc) > 2 || Math.abs(a - ra) > 0.25 || Math.abs(c - rc) > 0.25) continue;
      const cell = `${m.i + ra},${m.j + rc}`;
      if (cells.has(cell)) continue;
      cells.add(cell);
      taken.add(b);
      const member = { blob: b, i: m.i + ra, j: m.j + rc };
      members.push(member);
      // A straight step re-measures that grid vector here (perspective changes it across the chart).
      const nu: Vec = rc === 0 ? [d[0] / ra, d[1] / ra] : u;
      const nv: Vec = ra === 0 ? [d[0] / rc, d[1] / rc] : v;
      queue.push({ m: member, u: nu, v: nv });
    }
  }
  return members;
}

/** The largest grid of candidate patches (tried from the best-connected seeds). */
export function largestGrid(blobs: readonly Blob[]): GridMember[] {
  const seeds = blobs
    .map((b) => ({ b, n: neighbours(blobs, b, 2).length }))
    .filter((s) => s.n >= 2)
    .sort((p, q) => q.n - p.n)
    .slice(0, 8);
  let best: GridMember[] = [];
  for (const { b } of seeds) {
    const basis = basisAt(blobs, b);
    if (!basis) continue;
    const grid = walk(blobs, b, basis);
    if (grid.length > best.length) best = grid;
    if (best.length >= 20) break;
  }
  return best;
}
