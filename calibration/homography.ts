/**
 * Plane-to-plane perspective maps (3x3 homographies, h33 = 1), fitted by the direct linear
 * transform on Hartley-normalised points: the chart plane → the camera image, and back.
 */
import { leastSquares } from './linalg.ts';

export type Point = readonly [number, number];
/** Row-major 3x3. */
export type Homography = readonly number[];

export function mapPoint(h: Homography, [x, y]: Point): [number, number] {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

function multiply(a: Homography, b: Homography): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return out;
}

export function invert(h: Homography): number[] {
  const [a, b, c, d, e, f, g, i, k] = h;
  const co = [e * k - f * i, c * i - b * k, b * f - c * e, f * g - d * k, a * k - c * g, c * d - a * f, d * i - e * g, b * g - a * i, a * e - b * d];
  const det = a * co[0] + b * co[3] + c * co[6];
  return co.map((v) => v / det);
}

/** Moves the points' centroid to 0 and their mean distance to sqrt(2) (Hartley), as a homography. */
function normaliser(points: readonly Point[]): number[] {
  const cx = points.reduce((s, p) => s + p[0], 0) / points.length;
  const cy = points.reduce((s, p) => s + p[1], 0) / points.length;
  const mean = points.reduce((s, p) => s + Math.hypot(p[0] - cx, p[1] - cy), 0) / points.length;
  const s = Math.SQRT2 / (mean || 1);
  return [s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1];
}

/** The homography taking each `from` point to its `to` point (least squares over 4 or more); null if degenerate. */
export function fitHomography(from: readonly Point[], to: readonly Point[]): number[] | null {
  if (from.length < 4 || from.length !== to.length) return null;
  const nf = normaliser(from);
  const nt = normaliser(to);
  const rows: number[][] = [];
  const y: number[] = [];
  from.forEach((p, i) => {
    const [x, yy] = mapPoint(nf, p);
    const [u, v] = mapPoint(nt, to[i]);
    rows.push([x, yy, 1, 0, 0, 0, -u * x, -u * yy]);
    y.push(u);
    rows.push([0, 0, 0, x, yy, 1, -v * x, -v * yy]);
    y.push(v);
  });
  const h = leastSquares(rows, y);
  if (!h || h.some((v) => !Number.isFinite(v))) return null;
  const out = multiply(invert(nt), multiply([...h, 1], nf));
  return out.map((v) => v / out[8]);
}
