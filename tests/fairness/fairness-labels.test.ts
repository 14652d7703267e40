/**
 * The cross-series label check (device/tools/fairness-labels.ts, SOURCES.md "Cross-series check of the
 * labels"): an offset between the series' annotators is found and named, an offset under the fixed gap or
 * not told from noise is not, and the committed relabelling is a draw from both series of labels.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelScaleAcrossSeries, MIN_SCALE_GAP } from '../../device/tools/fairness-labels.ts';
import { markdownOf, portraitSeries, readRelabelling, tableOf, type Label, type PhotoResult } from '../../device/tools/eval-fairness.ts';
import { repoRoot } from '../helpers/daemon.ts';

const DIR = path.join(repoRoot, 'tests', 'fixtures', 'fairness');

/** 20 faces per series, labels 2..8; `shift(i)` is what the relabeller adds to face i's label. */
function twoSeries(shiftA: (i: number) => number, shiftB: (i: number) => number) {
  const faces = [...Array(40)].map((_, i) => ({ file: `${i}.jpg`, label: 2 + (i % 7), series: i < 20 ? 'A' : 'B' }));
  const relabel = new Map(faces.map((f, i) => [f.file, f.label + (i < 20 ? shiftA(i) : shiftB(i))]));
  return { faces, relabel };
}

describe('labels on one scale across portrait series', () => {
  it('a series relabelled two levels deeper is not on the other series scale', () => {
    const { faces, relabel } = twoSeries(() => 2, () => 0);
    const s = labelScaleAcrossSeries(faces, faces.map((f) => f.label), relabel)!;
    expect(s.perSeries.map((x) => [x.series, x.n, x.offset.mean, x.within1])).toEqual([
      ['A', 20, 2, 0],
      ['B', 20, 0, 1],
    ]);
    expect(s.gap.mean).toBe(2);
    expect(s.oneScale).toBe(false);
    // Readings equal to the labels: all within ±1 of them, none of relabels two levels off.
    expect(s.perSeries[0].readingWithin1).toEqual({ label: 1, relabel: 0 });
    expect(s.perSeries[1].readingWithin1).toEqual({ label: 1, relabel: 1 });
  });

  it('an offset under the fixed gap, or one the faces cannot tell from noise, leaves the scale one', () => {
    // 0.3 levels: 6 of A's 20 faces relabelled one level deeper, the rest the same.
    const small = twoSeries((i) => (i % 10 < 3 ? 1 : 0), () => 0);
    const s = labelScaleAcrossSeries(small.faces, small.faces.map(() => null), small.relabel)!;
    expect(s.gap.mean).toBeCloseTo(0.3, 9);
    expect(s.gap.low).toBeGreaterThan(0);
    expect(s.oneScale).toBe(true);
    // 0.6 levels on average, but from ±3-level disagreements: the interval spans 0.
    const noisy = twoSeries((i) => [3, -3, 3, 0, 0][i % 5], () => 0);
    const n = labelScaleAcrossSeries(noisy.faces, noisy.faces.map(() => null), noisy.relabel)!;
    expect(n.gap.mean).toBeCloseTo(0.6, 9);
    expect(n.gap.mean).toBeGreaterThanOrEqual(MIN_SCALE_GAP);
    expect(n.gap.low).toBeLessThan(0);
    expect(n.oneScale).toBe(true);
    expect(n.perSeries[0].within1).toBe(0.4);
    // No reading, no agreement with either labelling.
    expect(n.perSeries[0].readingWithin1).toEqual({ label: 0, relabel: 0 });
  });

  it('reads nothing unless exactly two series were relabelled', () => {
    const { faces, relabel } = twoSeries(() => 0, () => 0);
    const onlyA = new Map([...relabel].filter(([file]) => Number(file.split('.')[0]) < 20));
    expect(labelScaleAcrossSeries(faces, faces.map((f) => f.label), onlyA)).toBeNull();
  });

  it('the table reads it from the held-out fit and says which way it came out', () => {
    const rows: PhotoResult[] = [...Array(40)].map((_, i) => {
      const label = 2 + (i % 7);
      // Features the shipped form reads ([ITA°, white-balanced ITA°, skin L* q50, q90]), following the label.
      const ita = 60 - 7 * (label - 2) + Math.sin(i);
      return {
        file: `${i}.jpg`,
        label,
        detected: true,
        referenceDetected: true,
        landmarkError: 0.02,
        monk: label,
        ita,
        features: { ita, wbIta: ita + 5 * Math.cos(i), whitesLogY: -1, relBG: 0, lit: null, skinL: { q50: 80 - 5 * label + Math.sin(2 * i), q90: 90 - 4 * label } },
        series: i < 20 ? 'A' : 'B',
      };
    });
    const deeper = new Map(rows.map((r, i) => [r.file, r.label + (i < 20 ? 1 : 0)]));
    const t = tableOf(rows, deeper);
    expect(t.labelScale?.oneScale).toBe(false);
    expect(markdownOf(t, rows.length)).toMatch(/NOT one scale: part of the gap between the series is the annotators/);
    const same = tableOf(rows, new Map(rows.map((r) => [r.file, r.label])));
    expect(same.labelScale?.oneScale).toBe(true);
    expect(tableOf(rows).labelScale).toBeNull();
  });

  it('the committed relabelling is 40 faces of each series of labels.json, on the Monk scale', () => {
    const labels = JSON.parse(readFileSync(path.join(DIR, 'labels.json'), 'utf8')) as Label[];
    // Read as eval:fairness reads it (levels 1-10 checked by its schema).
    const fourth = readRelabelling('labels-fourth.json');
    const byFile = new Map(labels.map((l) => [l.file, l]));
    expect([...fourth.keys()].every((file) => byFile.has(file))).toBe(true);
    const perSeries = new Map<string, number>();
    for (const file of fourth.keys()) perSeries.set(portraitSeries(byFile.get(file)!), (perSeries.get(portraitSeries(byFile.get(file)!)) ?? 0) + 1);
    expect(Object.fromEntries(perSeries)).toEqual({ 'U.S. Congress': 40, 'UK Parliament': 40 });
  });
});
