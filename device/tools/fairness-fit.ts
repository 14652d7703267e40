/**
 * Fits the advisor's tone model (device/advisor/tone-estimate.ts) to labelled faces: ordinary least
 * squares of the Monk label on the lit skin and the whites (five coefficients) over the faces whose
 * whites were read, and on ITA° alone over every face (for a face without whites). `npm run eval:fairness` reads each face with the model built on all
 * the other faces (leave-one-out) and on the other fixed half; the mirror's TONE_MODEL is the model
 * built on all faces:
 *   npx tsx device/tools/fairness-fit.ts   → device/advisor/tone-model.json (after fairness-landmarks.ts)
 */
import { TONE_INPUTS, type ToneFeatures, type ToneInputSet, type ToneModel } from '../advisor/tone-estimate.ts';

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

/**
 * Ordinal cut points for a score (9 thresholds: the level is 1 + the number of cuts at or below the
 * score), chosen on training faces to read as many of them as possible within ±1 of their label: the
 * non-decreasing assignment of levels to the faces sorted by score (dynamic programming), ties broken
 * towards the score's own rounding (a 1e-3 penalty per level of distance), a cut half-way between two
 * neighbouring faces whose level changes. Levels no training face was given keep the rounding's cut
 * (level − 0.5), held monotone. Why: a least-squares score is pulled to the middle (MST 2 read 3.6 on
 * average, MST 8 6.8); rounding it misreads the ends, cut points can move the boundaries apart.
 */
export function fitCuts(scores: readonly number[], labels: readonly number[]): number[] {
  const order = scores.map((s, i) => i).sort((a, b) => scores[a] - scores[b]);
  const n = order.length;
  const LEVELS = 10;
  const gain = (i: number, k: number) => (Math.abs(k - labels[order[i]]) <= 1 ? 1 : 0) - 1e-3 * Math.abs(k - scores[order[i]]);
  // best[i][k]: the best total for faces 0..i with face i at level k (1-based k at index k - 1).
  const best = Array.from({ length: n }, () => new Float64Array(LEVELS));
  const from = Array.from({ length: n }, () => new Int8Array(LEVELS));
  for (let k = 0; k < LEVELS; k++) best[0][k] = gain(0, k + 1);
  for (let i = 1; i < n; i++) {
    let run = -Infinity;
    let arg = 0;
    for (let k = 0; k < LEVELS; k++) {
      if (best[i - 1][k] > run) [run, arg] = [best[i - 1][k], k];
      best[i][k] = run + gain(i, k + 1);
      from[i][k] = arg;
    }
  }
  const level = new Array<number>(n);
  let k = best[n - 1].indexOf(Math.max(...best[n - 1]));
  for (let i = n - 1; i >= 0; i--) {
    level[i] = k + 1;
    k = from[i][k];
  }
  const cuts: number[] = [];
  for (let to = 2; to <= LEVELS; to++) {
    const first = level.findIndex((l) => l >= to);
    if (first > 0) cuts.push((scores[order[first - 1]] + scores[order[first]]) / 2);
    else cuts.push(first === 0 ? Math.min(to - 0.5, scores[order[0]]) : Math.max(to - 0.5, scores[order[n - 1]]));
  }
  for (let j = 1; j < cuts.length; j++) cuts[j] = Math.max(cuts[j], cuts[j - 1]);
  return cuts;
}

/** The form of the shipped model: which inputs, and whether cut points read its score (fairness-cv.ts chooses). */
export interface ToneForm {
  inputs: ToneInputSet;
  cuts: boolean;
}

export function fitToneModel(faces: readonly LabelledFeatures[], form: ToneForm = { inputs: 'lit', cuts: false }): ToneModel {
  const read = faces.filter((f): f is { features: ToneFeatures; label: number } => f.features !== null);
  const rows = read.flatMap((f) => {
    const x = TONE_INPUTS[form.inputs](f.features);
    return x ? [{ x: [1, ...x], y: f.label }] : [];
  });
  const c = leastSquares(
    rows.map((r) => r.x),
    rows.map((r) => r.y),
  );
  const cuts = form.cuts ? fitCuts(rows.map((r) => r.x.reduce((s, v, i) => s + v * c[i], 0)), rows.map((r) => r.y)) : null;
  const [d0, d1] = leastSquares(
    read.map((f) => [1, f.features.ita]),
    read.map((f) => f.label),
  );
  // The cuts are fitted on the unrounded weights' scores; rounding both to 6 digits moves a level only at a tie.
  return {
    ...(form.inputs === 'lit' ? {} : { inputs: form.inputs }),
    withWhites: c.map(round),
    skinOnly: { intercept: round(d0), ita: round(d1) },
    ...(cuts ? { cuts: cuts.map(round) } : {}),
  };
}
