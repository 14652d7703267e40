/**
 * Fits the advisor's tone model (device/advisor/tone-estimate.ts) to labelled faces: ordinary least
 * squares of the Monk label on the lit skin and the whites (five coefficients) over the faces whose
 * whites were read, and on ITA° alone over every face (for a face without whites). `npm run eval:fairness` reads each face with the model built on all
 * the other faces (leave-one-out) and on the other fixed half; the mirror's TONE_MODEL is the model
 * built on all faces:
 *   npx tsx device/tools/fairness-fit.ts   → device/advisor/tone-model.json (after fairness-landmarks.ts)
 */
import { toneInputs, type ToneFeatures, type ToneModel } from '../advisor/tone-estimate.ts';

export interface LabelledFeatures {
  features: ToneFeatures | null;
  label: number;
}

/** Least squares: the w minimising |X w − y|², by the normal equations (Gaussian elimination with pivoting). */
export function leastSquares(x: readonly number[][], y: readonly number[]): number[] {
  const k = x[0].length;
  const a = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => x.reduce((s, row) => s + row[i] * row[j], 0)), x.reduce((s, row, r) => s + row[i] * y[r], 0)]);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    if (Math.abs(a[c][c]) < 1e-12) throw new Error(`least squares: column ${c} is degenerate (too few faces?)`);
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let j = c; j <= k; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row, i) => row[k] / row[i]);
}

const round = (v: number): number => Number(v.toPrecision(6));

export function fitToneModel(faces: readonly LabelledFeatures[]): ToneModel {
  const read = faces.filter((f): f is { features: ToneFeatures; label: number } => f.features !== null);
  const rows = read.flatMap((f) => {
    const x = toneInputs(f.features);
    return x ? [{ x: [1, ...x], y: f.label }] : [];
  });
  const c = leastSquares(
    rows.map((r) => r.x),
    rows.map((r) => r.y),
  );
  const [d0, d1] = leastSquares(
    read.map((f) => [1, f.features.ita]),
    read.map((f) => f.label),
  );
  return { withWhites: c.map(round), skinOnly: { intercept: round(d0), ita: round(d1) } };
}
