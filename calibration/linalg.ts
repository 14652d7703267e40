/** Small dense linear algebra for the calibration solvers (a few dozen unknowns at most). */

/** Solves A x = b (n x n) by Gaussian elimination with partial pivoting; null when A is singular. */
export function solveLinear(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let c = r + 1; c < n; c++) s -= m[r][c] * x[c];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * Weighted least squares: the x minimising sum_i w_i (rows_i . x - y_i)^2, through the normal
 * equations (a tiny ridge keeps a near-singular system solvable); null when it is singular.
 */
export function leastSquares(rows: number[][], y: number[], weights?: number[]): number[] | null {
  const k = rows[0].length;
  const ata = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const aty = new Array<number>(k).fill(0);
  rows.forEach((row, i) => {
    const w = weights ? weights[i] : 1;
    for (let p = 0; p < k; p++) {
      aty[p] += w * row[p] * y[i];
      for (let q = 0; q < k; q++) ata[p][q] += w * row[p] * row[q];
    }
  });
  for (let p = 0; p < k; p++) ata[p][p] += 1e-12;
  return solveLinear(ata, aty);
}
