/**
 * The tone model's ordinal cut points: calibrated() turns a raw score and 9 cuts into a score that
 * rounds to 1 + the number of cuts at or below it; fitCuts() chooses the cuts on training faces so the
 * ends of a score pulled to the middle read within ±1 again.
 */
import { describe, expect, it } from 'vitest';
import { calibrated, monkOfScore, toneScore, type ToneFeatures } from '../../device/advisor/tone-estimate.ts';
import { mulberry32 } from '../../device/core/seeded-random.ts';
import { fitCuts } from '../../device/tools/fairness-fit.ts';

describe('tone cut points', () => {
  it('calibrated reads 1 + the number of cuts at or below the score, also with repeated cuts', () => {
    const rnd = mulberry32(7);
    for (let trial = 0; trial < 200; trial++) {
      const cuts = Array.from({ length: 9 }, () => Math.round(rnd() * 40) / 4).sort((a, b) => a - b);
      for (let k = 0; k < 20; k++) {
        const score = Math.round((rnd() * 14 - 2) * 4) / 4;
        expect(monkOfScore(calibrated(score, cuts))).toBe(Math.min(10, 1 + cuts.filter((c) => c <= score).length));
      }
    }
    // Cuts at the rounding's own boundaries leave every score where it was.
    const rounding = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5];
    for (const s of [0.2, 1.5, 3.3, 7.49, 12]) expect(calibrated(s, rounding)).toBeCloseTo(s, 9);
  });

  it('fitCuts reads the ends of a compressed score within ±1 where rounding does not', () => {
    const rnd = mulberry32(20261205);
    const labels: number[] = [];
    const scores: number[] = [];
    for (let label = 2; label <= 8; label++)
      for (let k = 0; k < 12; k++) {
        labels.push(label);
        // The middle-pulled score of least squares: MST 2 about 3.6, MST 8 about 6.6.
        scores.push(5 + 0.5 * (label - 5) + (rnd() - 0.5) * 0.6);
      }
    const within = (read: (s: number) => number) => labels.filter((l, i) => Math.abs(read(scores[i]) - l) <= 1).length;
    const cuts = fitCuts(scores, labels);
    expect(cuts).toHaveLength(9);
    for (let j = 1; j < 9; j++) expect(cuts[j]).toBeGreaterThanOrEqual(cuts[j - 1]);
    const rounded = within((s) => monkOfScore(s));
    const cut = within((s) => monkOfScore(calibrated(s, cuts)));
    console.log(`within ±1: rounded ${rounded}/${labels.length}, cut ${cut}/${labels.length}; cuts ${cuts.map((c) => c.toFixed(2)).join(' ')}`);
    expect(cut).toBe(labels.length);
    expect(rounded).toBeLessThan(labels.length - 10);
    // The end tones themselves: every MST 2 and MST 8 face within ±1.
    for (const end of [2, 8]) for (const [i, l] of labels.entries()) if (l === end) expect(Math.abs(monkOfScore(calibrated(scores[i], cuts)) - l)).toBeLessThanOrEqual(1);
    // Held-out faces drawn the same way read as well as the training faces (the cuts are not a lookup of them).
    const fresh = Array.from({ length: 70 }, (_, i) => 2 + (i % 7));
    const freshScores = fresh.map((l) => 5 + 0.5 * (l - 5) + (rnd() - 0.5) * 0.6);
    expect(fresh.filter((l, i) => Math.abs(monkOfScore(calibrated(freshScores[i], cuts)) - l) <= 1).length).toBeGreaterThanOrEqual(66);
  });

  it('fitCuts maximises readings within ±1, not exact readings: faces of MST 2 and 4 mixed at one score read 3', () => {
    const scores = Array.from({ length: 20 }, (_, i) => 3 + i / 40);
    const labels = scores.map((_, i) => (i % 2 ? 4 : 2));
    const cuts = fitCuts(scores, labels);
    expect(scores.map((s) => monkOfScore(calibrated(s, cuts)))).toEqual(scores.map(() => 3));
  });

  it('the device model applies its cuts to the with-whites score', () => {
    const f: ToneFeatures = { ita: 30, whitesLogY: -1.2, relBG: -0.3, lit: { logY: -1, relBG: -0.3, relRG: 0.3 } };
    const model = { withWhites: [1, 1, 1, 1, 1], skinOnly: { intercept: 5, ita: 0 } };
    const raw = toneScore(f, model);
    const cuts = [raw - 4, raw - 3, raw - 2, raw - 1, raw - 0.5, raw + 1, raw + 2, raw + 3, raw + 4];
    expect(monkOfScore(toneScore(f, { ...model, cuts }))).toBe(6);
    expect(toneScore(f, { ...model, cuts })).toBeCloseTo(calibrated(raw, cuts), 12);
  });
});
