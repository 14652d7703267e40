/**
 * Are the fairness labels on one scale across the portrait series? The series were labelled by different
 * engineers, so an offset between annotators would look exactly like the difference between the series'
 * light that the tone reading misses on (tests/fixtures/fairness/SOURCES.md, "Cross-series check of the
 * labels"). One annotator relabels a seeded draw from every series blind (labels-fourth.json); per series the
 * mean of (relabel − label) is the offset between that series' annotator and the relabeller. Offsets that
 * differ between series by at least MIN_SCALE_GAP levels, with a 95 % interval excluding 0, mean the labels
 * are not on one scale; the rule was fixed before the relabelling.
 */
export interface Relabelled {
  file: string;
  label: number;
  series?: string;
}

export interface SeriesAgreement {
  series: string;
  n: number;
  /** Mean of (relabel − label), levels, with its 95 % interval (normal approximation). */
  offset: { mean: number; low: number; high: number };
  /** Share of faces whose two labels are within ±1 of each other. */
  within1: number;
  /** Share of faces whose held-out reading is within ±1 of the label, and of the relabel. */
  readingWithin1: { label: number; relabel: number };
}

export interface LabelScale {
  perSeries: SeriesAgreement[];
  /** First series' offset minus the second's, with its 95 % interval. */
  gap: { mean: number; low: number; high: number };
  /** False when the gap is at least MIN_SCALE_GAP and its interval excludes 0. */
  oneScale: boolean;
}

/** Levels of offset between the series' annotators that would count as a different scale. */
export const MIN_SCALE_GAP = 0.5;
const Z95 = 1.96;

function meanAndVariance(values: readonly number[]): { mean: number; varianceOfMean: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, varianceOfMean: variance / values.length };
}

const interval = (mean: number, varianceOfMean: number) => ({ mean, low: mean - Z95 * Math.sqrt(varianceOfMean), high: mean + Z95 * Math.sqrt(varianceOfMean) });

/**
 * `faces` and `heldOut` in the same order (heldOut: each face's reading by a fit it was not part of; null
 * where it was not read); `relabel`: file → the relabeller's level. Null unless exactly two series have
 * relabelled faces.
 */
export function labelScaleAcrossSeries(faces: readonly Relabelled[], heldOut: ReadonlyArray<number | null>, relabel: ReadonlyMap<string, number>): LabelScale | null {
  const names = [...new Set(faces.filter((f) => relabel.has(f.file)).map((f) => f.series ?? 'unknown'))];
  if (names.length !== 2) return null;
  const stats = names.map((series) => {
    const rows = faces.flatMap((f, i) => ((f.series ?? 'unknown') === series && relabel.has(f.file) ? [{ label: f.label, relabel: relabel.get(f.file)!, reading: heldOut[i] }] : []));
    const offsets = meanAndVariance(rows.map((r) => r.relabel - r.label));
    const near = (reading: number | null, level: number) => reading !== null && Math.abs(reading - level) <= 1;
    const agreement: SeriesAgreement = {
      series,
      n: rows.length,
      offset: interval(offsets.mean, offsets.varianceOfMean),
      within1: rows.filter((r) => Math.abs(r.relabel - r.label) <= 1).length / rows.length,
      readingWithin1: { label: rows.filter((r) => near(r.reading, r.label)).length / rows.length, relabel: rows.filter((r) => near(r.reading, r.relabel)).length / rows.length },
    };
    return { agreement, offsets };
  });
  const [a, b] = stats;
  const gap = interval(a.offsets.mean - b.offsets.mean, a.offsets.varianceOfMean + b.offsets.varianceOfMean);
  const excludesZero = gap.low > 0 || gap.high < 0;
  return { perSeries: stats.map((s) => s.agreement), gap, oneScale: !(Math.abs(gap.mean) >= MIN_SCALE_GAP && excludesZero) };
}
