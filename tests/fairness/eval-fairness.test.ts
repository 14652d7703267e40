/**
 * The fairness evaluation (`npm run eval:fairness`): its committed photo set covers at least six
 * Monk tones with six faces or more and every file is there with a source and licence; its table
 * applies the two targets as written; and on two real committed photos (a light and a deep
 * face) the mirror's detector and mesh, the reference mesh (@vladmandic/human) and the advisor's
 * reading run end to end. The full table is the script's (README), not this test's.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, fitMonotoneMapping, frameOf, skinHeldBack, heldOutSet, HELD_OUT_SETS, markdownOf, portraitSeries, normalisedMeshError, spearman, tableOf, type Label, type PhotoResult } from '../../device/tools/eval-fairness.ts';
import { monkOfScore, toneScore, type ToneFeatures } from '../../device/advisor/tone-estimate.ts';
import { fitToneModel, leastSquares } from '../../device/tools/fairness-fit.ts';
import { crossHalf, withinSeriesLeaveOneOut } from '../../device/tools/fairness-model.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision } from '../helpers/vision.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';

const DIR = path.join(repoRoot, 'tests', 'fixtures', 'fairness');
const labels = JSON.parse(readFileSync(path.join(DIR, 'labels.json'), 'utf8')) as Label[];

const result = (label: number, detected: boolean, monk: number | null): PhotoResult => ({
  file: 'x.jpg',
  label,
  detected,
  referenceDetected: true,
  landmarkError: detected ? 0.05 : null,
  monk,
  ita: null,
});

/** Labels made by a known law of the four inputs, on 30 synthetic faces. */
const law = (f: ToneFeatures) => 4 - 2 * f.lit!.logY + 1.5 * f.whitesLogY! - 3 * f.lit!.relBG + 2 * f.lit!.relRG;
function lawFaces() {
  return [...Array(30)].map((_, i) => {
    const features: ToneFeatures = {
      ita: 60 - 4 * i,
      whitesLogY: -1 - 0.3 * Math.sin(i),
      relBG: 0,
      lit: { logY: -0.5 - 0.08 * i, relBG: 0.1 * Math.cos(1.7 * i), relRG: 0.2 + 0.05 * Math.sin(2.3 * i) },
    };
    return { ...result(0, true, null), features, label: law(features) };
  });
}

describe('fairness evaluation', () => {
  it('the committed set: >= 6 Monk tones with >= 6 faces, every photo present with source and licence', () => {
    const perTone = new Map<number, number>();
    for (const l of labels) {
      expect(existsSync(path.join(DIR, l.file)), l.file).toBe(true);
      // The sources SOURCES.md describes (a copy of unitedstates/images for the second added set; UK Parliament
      // official portraits, CC BY 3.0, from TheyWorkForYou's two Parliament-API imports for the round-9 check set).
      expect(l.source).toMatch(/^(voteview\/member_photos@687cf7a|civicsense2025\/civic-sense-main@f168d6e|mysociety\/theyworkforyou@(82251fd|c59f76a)) /);
      expect(l.licence).toMatch(l.source.startsWith('mysociety/') ? /^CC BY 3\.0 / : /public domain/);
      perTone.set(l.monk, (perTone.get(l.monk) ?? 0) + 1);
    }
    expect([...perTone.values()].filter((n) => n >= 6).length).toBeGreaterThanOrEqual(6);
    expect(new Set(labels.map((l) => l.file)).size).toBe(labels.length);
  });

  it('a check set is kept out of the fit only while HELD_OUT_SETS names it (none since round 9)', () => {
    expect(heldOutSet({ set: 'fresh check (round 9)' }, ['fresh check (round 9)'])).toBe('fresh check (round 9)');
    expect(heldOutSet({ set: 'fresh check (round 9)' }, ['fresh check (round 8)'])).toBeUndefined();
    expect(heldOutSet({}, ['fresh check (round 9)'])).toBeUndefined();
    // Round 9's decision refitted the shipped model on every face: the labelled sets stay as a record only.
    expect(HELD_OUT_SETS).toEqual([]);
    expect(labels.filter((l) => l.set !== undefined).length).toBe(149);
    expect(labels.filter((l) => heldOutSet(l) !== undefined)).toEqual([]);
  });

  it('the table applies the targets: recall floor 0.95 x the best tone, tone within +-1 on >= 80 % of all faces', () => {
    const ok = [...Array(20)].map((_, i) => result(3, true, i < 17 ? 3 : 6)).concat([...Array(20)].map((_, i) => result(8, i < 19, i < 17 ? 7 : 4)));
    const t = tableOf(ok);
    expect(t.rows.map((r) => [r.monk, r.n, r.recall])).toEqual([
      [3, 20, 1],
      [8, 20, 0.95],
    ]);
    expect(t.recallOk).toBe(true); // 0.95 is exactly the floor
    expect(t.toneWithin1).toBeCloseTo(34 / 40);
    expect(t.toneOk).toBe(true);
    // One more miss on the deep tone: recall 0.90 < 0.95, flagged in the table.
    const worse = tableOf(ok.map((r, i) => (i === 20 ? { ...r, detected: false, monk: null } : r)));
    expect(worse.recallOk).toBe(false);
    expect(markdownOf(worse, 40)).toMatch(/\| 8 \| 20 \| 90 % \*\*below floor\*\*/);
    // A missed face counts as a wrong tone reading.
    expect(worse.toneWithin1).toBeCloseTo(33 / 40);
  });

  it('reports both fixed halves of labels.json, the median reading per tone and the ITA rank correlation', () => {
    // Rows 0, 2, 4... (even) all within +-1; rows 1, 3, 5... (odd) half of them.
    const rows = [...Array(8)].map((_, i): PhotoResult => ({ ...result(4, true, i % 2 === 0 || i % 4 === 1 ? 4 : 7), ita: 40 - i }));
    const t = tableOf(rows);
    expect(t.halves).toEqual({ odd: 0.5, even: 1 });
    expect(t.rows[0].readingMedian).toBe(4);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
    // Ties get average ranks: [1, 1, 2] vs [1, 2, 3] -> ranks [0.5, 0.5, 2] vs [0, 1, 2].
    expect(spearman([1, 1, 2], [1, 2, 3])).toBeCloseTo(0.866, 3);
    const mixed = tableOf([result(2, true, 5), result(5, true, 5), result(8, true, 6)].map((r, i) => ({ ...r, ita: [50, 30, 10][i] })));
    expect(mixed.itaRankCorrelation).toBeCloseTo(1);
    expect(markdownOf(mixed, 3)).toMatch(/\(odd rows 100 %, even rows 0 %\)/);
    // No features, no held-out columns (leave-one-out, two-fold); the swatch reading of ITA° 50 is MST 5, 3 levels off label 2.
    expect(markdownOf(mixed, 3)).toMatch(/\| 2 \| 1 \| 100 % \| 100 % \| 0.050 \| – \| – \| 0 % \| 0 % \| 5 \|/);
  });

  it('the best monotone remapping: deeper for lower ITA, as many faces within +-1 as any monotone mapping allows', () => {
    const faces = [60, 50, 40, 30, 20, 10].map((ita, i) => ({ ita, label: i + 2 }));
    const map = fitMonotoneMapping(faces);
    for (const f of faces) expect(Math.abs(map(f.ita) - f.label), `ITA ${f.ita}`).toBeLessThanOrEqual(1);
    // Monotone: a lower ITA never reads lighter.
    const readings = [90, 65, 45, 25, 5, -40].map(map);
    expect(readings).toEqual([...readings].sort((a, b) => a - b));
    // Out of order by one level: within +-1, one level fits all three (exact levels could fit two).
    const jitter = [
      { ita: 50, label: 3 },
      { ita: 49, label: 2 },
      { ita: 48, label: 4 },
    ];
    const fitted = fitMonotoneMapping(jitter);
    for (const f of jitter) expect(Math.abs(fitted(f.ita) - f.label)).toBeLessThanOrEqual(1);
    // Two faces in the wrong order (the lighter reading labelled deep): only one can be right.
    const crossed = fitMonotoneMapping([
      { ita: 50, label: 8 },
      { ita: 49, label: 2 },
    ]);
    expect([Math.abs(crossed(50) - 8) <= 1, Math.abs(crossed(49) - 2) <= 1].filter(Boolean)).toHaveLength(1);
    // The table fits it on each half (scored on that half and the other) and on all: consistent readings fit fully.
    const t = tableOf(faces.map((f, i) => ({ ...result(f.label, true, 5), ita: f.ita, file: `${i}.jpg` })));
    expect([t.remapped!.fitOdd.odd, t.remapped!.fitEven.even, t.remapped!.ceiling]).toEqual([1, 1, 1]);
  });

  it('the tone model: least squares recovers a linear law of the lit skin and the whites; each face is read by the fit on the other half and by the fit on all other faces; no whites falls back to ITA alone', () => {
    expect(leastSquares([[1, 1], [1, 2], [1, 3]], [2, 3, 4]).map((v) => Number(v.toFixed(9)))).toEqual([1, 1]);
    const faces = lawFaces();
    const lit = { inputs: 'lit', cuts: false } as const;
    const cross = crossHalf(faces, lit)!;
    expect(cross.fitOdd.withWhites[1]).toBeCloseTo(-2, 6);
    expect(cross.fitEven.withWhites[3]).toBeCloseTo(-3, 6);
    expect(cross.all.withWhites[4]).toBeCloseTo(2, 6);
    faces.forEach((f, i) => expect(cross.heldOut[i]).toBe(monkOfScore(law(f.features))));
    faces.forEach((f, i) => expect(cross.leaveOneOut[i]).toBe(monkOfScore(law(f.features))));
    // One face labelled 30 levels off the law: left out, it is read by the clean fit on the others
    // (exactly the law); every other face's fit includes it, so faces of both halves are pulled.
    const k = 5;
    const outlier = faces.map((f, i) => (i === k ? { ...f, label: f.label + 30 } : f));
    const loo = crossHalf(outlier, lit)!.leaveOneOut;
    expect(loo[k]).toBe(monkOfScore(law(faces[k].features)));
    const pulled = (parity: number) => outlier.filter((f, i) => i !== k && i % 2 === parity && loo[i] !== monkOfScore(law(f.features))).length;
    expect([pulled(k % 2), pulled(1 - (k % 2))].every((n) => n > 0)).toBe(true);
    // A face without whites (or without a lit skin) is read by the ITA°-only fit.
    const model = fitToneModel(faces);
    expect(toneScore({ ita: 20, whitesLogY: null, relBG: null, lit: null }, model)).toBeCloseTo(model.skinOnly.intercept + 20 * model.skinOnly.ita, 9);
    expect(toneScore({ ita: 20, whitesLogY: -1, relBG: 0, lit: null }, model)).toBeCloseTo(model.skinOnly.intercept + 20 * model.skinOnly.ita, 9);
    // Too few faces on a half: no held-out figure, the table says so instead of fitting noise.
    expect(crossHalf(faces.slice(0, 10), lit)).toBeNull();
  });

  it('within one portrait series, each face is read by the fit on its own series only; the series come from the licence', () => {
    const lit = { inputs: 'lit', cuts: false } as const;
    // Two series under different "light": the same law, series B's labels 4 levels deeper. One fit across
    // both is pulled between them; the fit inside each series is that series' law exactly.
    const a = lawFaces().map((f) => ({ ...f, series: 'A' }));
    const b = lawFaces().map((f) => ({ ...f, series: 'B', label: f.label + 4 }));
    const faces = [...a, ...b];
    const within = withinSeriesLeaveOneOut(faces, lit);
    faces.forEach((f, i) => expect(within[i]).toBe(monkOfScore(f.label)));
    const across = crossHalf(faces, lit)!.leaveOneOut;
    expect(faces.filter((f, i) => across[i] !== monkOfScore(f.label)).length).toBeGreaterThan(10);
    // A series too small to fit reads nothing rather than noise.
    expect(withinSeriesLeaveOneOut([...a, ...b.slice(0, 5)], lit).slice(30)).toEqual([null, null, null, null, null]);
    const series = new Set(labels.map(portraitSeries));
    expect([...series].sort()).toEqual(['U.S. Congress', 'UK Parliament']);
    expect(labels.filter((l) => portraitSeries(l) === 'UK Parliament').every((l) => l.source.startsWith('mysociety/'))).toBe(true);
  });

  it('a check-set face (labels.json `set`) never enters the shipped fit, and the table reads the check set apart', () => {
    const faces = lawFaces();
    const lit = { inputs: 'lit', cuts: false } as const;
    // A check face labelled 30 levels off the law: the shipped fit is the law's, as if the face were absent.
    const withCheck = faces.map((f, i) => (i === 7 ? { ...f, label: f.label + 30, set: 'check' } : f));
    const shipped = crossHalf(withCheck, lit)!.all;
    expect(shipped.withWhites).toEqual(fitToneModel(faces.filter((_, i) => i !== 7), lit).withWhites);
    expect(shipped.withWhites).not.toEqual(fitToneModel(withCheck, lit).withWhites);
    // The table: the check set's own figure and per-tone counts, the rest of the faces not in it.
    const rows = [result(3, true, 3), result(3, true, 6), result(5, true, 4), result(5, false, null)].map((r, i) => ({ ...r, file: `${i}.jpg`, ...(i > 0 ? { set: 'check' } : {}) }));
    const t = tableOf(rows);
    expect(t.checkSet).toEqual({ name: 'check', n: 3, within1: 1 / 3, perTone: 'MST 3: 0/1, MST 5: 1/2' });
    expect(tableOf(rows.map(({ set: _, ...r }) => r)).checkSet).toBeNull();
  });

  it('normalises the mesh distance by the reference inter-ocular distance', () => {
    const ref = Array.from({ length: 468 }, () => [0, 0, 0] as [number, number, number]);
    ref[33] = [0, 0, 0];
    ref[133] = [20, 0, 0];
    ref[362] = [80, 0, 0];
    ref[263] = [100, 0, 0];
    const shifted = ref.map(([x, y, z]) => [x + 4, y + 3, z] as [number, number, number]);
    expect(normalisedMeshError(shifted, ref)).toBeCloseTo(5 / 80);
  });

  it('runs the real mirror, the reference and the tone reading on a light and a deep committed photo', { timeout: 180_000 }, async () => {
    const pick = [labels.find((l) => l.monk === 2)!, labels.find((l) => l.monk === 8)!];
    const results = await evaluate(pick);
    for (const r of results) {
      expect(r.detected, r.file).toBe(true);
      expect(r.referenceDetected, r.file).toBe(true);
      // Two meshes on the same face agree to a fraction of the eye distance.
      expect(r.landmarkError!, r.file).toBeLessThan(0.15);
      expect(r.monk, r.file).not.toBeNull();
    }
    // The deep face reads deeper than the light one.
    expect(results[1].monk!).toBeGreaterThan(results[0].monk!);
    for (const r of results) {
      expect(r.skinHeldBack!.face, r.file).toBeGreaterThanOrEqual(0);
      // The mid face (cheeks and nose) of these two clean-shaven, bare-headed faces is skin.
      expect(r.skinHeldBack!.midFace, r.file).toBeLessThan(0.25);
    }
  });

  it('the try-on column: the median per tone of the face skin the daemon\'s gate holds back; on a real face, hair drawn over the forehead is held back', { timeout: 60_000 }, async () => {
    const measured = [
      { ...result(2, true, 2), skinHeldBack: { face: 0.3, midFace: 0.05 } },
      { ...result(2, true, 2), skinHeldBack: { face: 0.1, midFace: 0 } },
      { ...result(2, true, 2), skinHeldBack: { face: 0.2, midFace: 0.01 } },
      { ...result(5, true, 5), skinHeldBack: { face: 0.4, midFace: 0.1 } },
      { ...result(5, false, null), skinHeldBack: null },
    ];
    const table = tableOf(measured);
    expect(table.rows.map((r) => [r.monk, r.skinHeldBack])).toEqual([
      [2, { face: 0.2, midFace: 0.01 }],
      [5, { face: 0.4, midFace: 0.1 }],
    ]);
    expect(markdownOf(table, measured.length)).toMatch(/\| 2 \| 20 % \/ 1 % \|\n\| 5 .*\| 40 % \/ 10 % \|/);

    const l = labels.find((x) => x.monk === 2)!;
    const image = await frameOf(path.join(DIR, l.file));
    const vision = await loadVision();
    const face = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(image)).faces[0];
    expect(face).toBeDefined();
    const bareAll = skinHeldBack(image, face)!;
    const bare = bareAll.face;
    // Dark brown hair over the top third of the face skin region (a fringe).
    const [top, bottom] = [Math.min(...face.landmarks.map((p) => p[1])), Math.max(...face.landmarks.map((p) => p[1]))];
    const fringe = { ...image, data: Uint8Array.from(image.data) };
    for (let y = Math.floor(top); y < top + (bottom - top) / 3; y++)
      for (let x = 0; x < image.width; x++) fringe.data.set([48, 34, 26], (y * image.width + x) * 3);
    const coveredAll = skinHeldBack(fringe, face)!;
    const covered = coveredAll.face;
    console.log(`${l.file} (MST 2): face skin held back ${(100 * bare).toFixed(1)} % (mid face ${(100 * bareAll.midFace).toFixed(1)} %), with a fringe over its top third ${(100 * covered).toFixed(1)} % (mid face ${(100 * coveredAll.midFace).toFixed(1)} %)`);
    expect(bare).toBeLessThan(0.25);
    expect(covered).toBeGreaterThan(bare + 0.15);
    // The fringe stops about the brows: the mid face's share barely moves (the skin model, sampled on
    // the cheeks and the nose bridge, loses the top of the bridge to it).
    expect(Math.abs(coveredAll.midFace - bareAll.midFace)).toBeLessThan(0.05);
  });
});
