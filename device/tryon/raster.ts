/**
 * Anti-aliased polygon coverage for region masks: 4 sub-scanlines per row with exact horizontal
 * span ends, even-odd rule, so a ring (outer lips + inner lips) fills only the lips.
 */
import { f32, i32 } from './frame-arena.ts';

export interface MaskRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CoverageMask {
  rect: MaskRect;
  /** Coverage 0..1 per pixel of `rect`, row-major. */
  alpha: Float32Array;
}

const SUBROWS = 4;

/** A box within a mask's rect, in rect-relative pixels: columns x0..x1-1, rows y0..y1-1. */
export interface Span {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Where `mask` covers more than `threshold`: per row y, its first (lo[y]) and past-last (hi[y])
 * covered column (lo >= hi: none), found from both ends, so a row costs only its empty part; and
 * the box of those spans (null when nothing is covered). Per-pixel passes then visit the covered
 * part of each row only: most of a feathered region's rect is empty around its corners.
 */
export function coverageSpans(mask: CoverageMask, threshold: number, lo: Int32Array, hi: Int32Array): Span | null {
  const { rect, alpha } = mask;
  const { width, height } = rect;
  let x0 = width;
  let x1 = 0;
  let y0 = height;
  let y1 = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let a = 0;
    while (a < width && alpha[row + a] <= threshold) a++;
    let b = width;
    if (a < width) while (alpha[row + b - 1] <= threshold) b--;
    lo[y] = a;
    hi[y] = b;
    if (a >= b) continue;
    if (a < x0) x0 = a;
    if (b > x1) x1 = b;
    if (y < y0) y0 = y;
    y1 = y + 1;
  }
  return x0 < x1 ? { x0, y0, x1, y1 } : null;
}

export function polygonBounds(polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, pad: number, limit: { width: number; height: number }): MaskRect | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const poly of polygons)
    for (const [x, y] of poly) {
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
  const x0 = Math.max(0, Math.floor(minX - pad));
  const y0 = Math.max(0, Math.floor(minY - pad));
  const x1 = Math.min(limit.width, Math.ceil(maxX + pad));
  const y1 = Math.min(limit.height, Math.ceil(maxY + pad));
  if (!(x1 > x0 && y1 > y0)) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Coverage of `polygons` over `rect`. With `rowStep` > 1 only every rowStep-th row of the rect is
 * rasterised (rows 0, rowStep, 2·rowStep, …; the result has ceil(height / rowStep) rows): each row's
 * coverage depends on that row alone, so a sampled row is the same as in a fill of the whole rect,
 * and a caller that samples rows (colour-model.ts) pays for the edge setup once, not once per row.
 */
export function fillPolygons(polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, rect: MaskRect, rowStep = 1): Float32Array {
  const rows = Math.ceil(rect.height / rowStep);
  const alpha = f32(rect.width * rows);
  const edges = edgeList(polygons, rect);
  const count = edges.length / 4;
  // Each row tests only the edges whose vertical extent meets it (byRow[rowStart[row]..rowStart[row+1]),
  // in edge order), not every edge of the polygons: a region's loops have tens of edges, a row meets a few.
  const rowStart = i32(rows + 1);
  const firstRow = (e: number) => Math.ceil(edgeRow(Math.min(edges[e * 4 + 1], edges[e * 4 + 3]), rect) / rowStep);
  const lastRow = (e: number) => Math.floor(edgeRow(Math.max(edges[e * 4 + 1], edges[e * 4 + 3]), rect) / rowStep);
  for (let e = 0; e < count; e++) {
    const r1 = Math.min(rows - 1, lastRow(e));
    for (let r = Math.max(0, firstRow(e)); r <= r1; r++) rowStart[r + 1]++;
  }
  for (let r = 0; r < rows; r++) rowStart[r + 1] += rowStart[r];
  const byRow = i32(rowStart[rows]);
  const fill = i32(rows);
  for (let e = 0; e < count; e++) {
    const r1 = Math.min(rows - 1, lastRow(e));
    for (let r = Math.max(0, firstRow(e)); r <= r1; r++) byRow[rowStart[r] + fill[r]++] = e;
  }
  // Crossings of one sub-scanline (few per row: insertion-sorted in place).
  let xs = new Float64Array(16);
  // Per row: coverage as differences (a span's inside adds at its start, subtracts past its end),
  // summed once per row, so a wide span costs two writes, not one per pixel per sub-row.
  const diff = f32(rect.width + 1);
  const weight = 1 / SUBROWS;
  for (let row = 0; row < rows; row++) {
    const first = rowStart[row];
    const end = rowStart[row + 1];
    if (first === end) continue;
    diff.fill(0);
    const base = row * rect.width;
    for (let s = 0; s < SUBROWS; s++) {
      const sy = rect.y + row * rowStep + (s + 0.5) / SUBROWS;
      let n = 0;
      for (let q = first; q < end; q++) {
        const e = byRow[q];
        const y0 = edges[e * 4 + 1];
        const y1 = edges[e * 4 + 3];
        if (y0 > sy === y1 > sy) continue;
        const x0 = edges[e * 4];
        const x = x0 + ((sy - y0) / (y1 - y0)) * (edges[e * 4 + 2] - x0);
        if (n === xs.length) {
          const grown = new Float64Array(n * 2);
          grown.set(xs);
          xs = grown;
        }
        let k = n++;
        while (k > 0 && xs[k - 1] > x) {
          xs[k] = xs[k - 1];
          k--;
        }
        xs[k] = x;
      }
      for (let k = 0; k + 1 < n; k += 2) {
        const a = Math.max(0, xs[k]);
        const b = Math.min(rect.width, xs[k + 1]);
        if (b <= a) continue;
        const ia = Math.floor(a);
        const ib = Math.floor(b);
        if (ia === ib) {
          alpha[base + ia] += (b - a) * weight;
          continue;
        }
        alpha[base + ia] += (ia + 1 - a) * weight;
        diff[ia + 1] += weight;
        diff[ib] -= weight;
        if (ib < rect.width) alpha[base + ib] += (b - ib) * weight;
      }
    }
    let run = 0;
    for (let x = 0; x < rect.width; x++) {
      run += diff[x];
      alpha[base + x] += run;
    }
  }
  return alpha;
}

/**
 * The rect row holding frame ordinate `y` (may lie outside the rect): an edge spanning y0..y1 can
 * only cross the sub-rows of rows edgeRow(y0)..edgeRow(y1); the caller clamps to the rows it has.
 */
function edgeRow(y: number, rect: MaskRect): number {
  return Math.floor(y - rect.y);
}

/** The polygons' edges as [x0, y0, x1, y1] relative to the rect's left edge (x) and in frame rows (y). */
function edgeList(polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, rect: MaskRect): Float64Array {
  const total = polygons.reduce((n, p) => n + p.length, 0);
  const edges = new Float64Array(total * 4);
  let e = 0;
  for (const poly of polygons)
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      edges[e++] = poly[i][0] - rect.x;
      edges[e++] = poly[i][1];
      edges[e++] = poly[j][0] - rect.x;
      edges[e++] = poly[j][1];
    }
  return edges;
}

/** Separable box blur, radius in pixels; softens mask edges in proportion to face size. */
export function boxBlur(alpha: Float32Array, width: number, height: number, radius: number): Float32Array {
  const r = Math.max(0, Math.round(radius));
  if (r === 0) return alpha;
  const out = f32(alpha.length);
  boxBlurInto(alpha, out, width, height, r, f32(alpha.length));
  return out;
}

/**
 * Box blur of radius `r` (integer ≥ 1) of `src` into `out` (both width x height, clamped edges),
 * through `tmp` (same size). Both passes walk rows in memory order (the vertical one keeps a running
 * sum per column), so a tall region costs no more per pixel than a wide one.
 */
export function boxBlurInto(src: Float32Array, out: Float32Array, width: number, height: number, r: number, tmp: Float32Array): void {
  const norm = 1 / (2 * r + 1);
  // Columns where the window needs no clamping on either side: the bulk of a row, run without tests.
  const midStart = Math.min(width, r);
  const midEnd = Math.max(midStart, width - r - 1);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    const last = base + width - 1;
    let sum = 0;
    for (let x = -r; x <= r; x++) sum += src[base + (x < 0 ? 0 : x >= width ? width - 1 : x)];
    let x = 0;
    for (; x < midStart; x++) {
      tmp[base + x] = sum * norm;
      const add = base + x + r + 1;
      const drop = x - r;
      sum += src[add > last ? last : add] - src[base + (drop < 0 ? 0 : drop)];
    }
    for (; x < midEnd; x++) {
      tmp[base + x] = sum * norm;
      sum += src[base + x + r + 1] - src[base + x - r];
    }
    for (; x < width; x++) {
      tmp[base + x] = sum * norm;
      const add = base + x + r + 1;
      const drop = x - r;
      sum += src[add > last ? last : add] - src[base + (drop < 0 ? 0 : drop)];
    }
  }
  const acc = new Float64Array(width);
  for (let d = -r; d <= r; d++) {
    const row = (d < 0 ? 0 : d >= height ? height - 1 : d) * width;
    for (let x = 0; x < width; x++) acc[x] += tmp[row + x];
  }
  for (let y = 0; y < height; y++) {
    const base = y * width;
    const add = (y + r + 1 >= height ? height - 1 : y + r + 1) * width;
    const drop = (y - r < 0 ? 0 : y - r) * width;
    // One pass per row: each column's sum is written out, then moved on to the next row.
    for (let x = 0; x < width; x++) {
      out[base + x] = acc[x] * norm;
      acc[x] += tmp[add + x] - tmp[drop + x];
    }
  }
}

/**
 * alpha (over `rect`) *= 1 - coverage of `polygons` (a hole cut out of a mask). Only the rows the
 * polygons' box spans are rasterised and touched, with the rect's own column origin, so every
 * pixel gets exactly what a fill of the whole rect would give it (each row's coverage depends on
 * that row alone); the other rows are left as they are (times 1).
 */
export function cutOut(alpha: Float32Array, rect: MaskRect, polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>): void {
  const box = polygonBounds(polygons, 1, { width: rect.x + rect.width, height: rect.y + rect.height });
  if (!box) return;
  const y0 = Math.max(box.y, rect.y);
  const y1 = Math.min(box.y + box.height, rect.y + rect.height);
  if (y1 <= y0) return;
  const cover = fillPolygons(polygons, { x: rect.x, y: y0, width: rect.width, height: y1 - y0 });
  const base = (y0 - rect.y) * rect.width;
  for (let i = 0; i < cover.length; i++) alpha[base + i] *= 1 - Math.min(1, cover[i]);
}
