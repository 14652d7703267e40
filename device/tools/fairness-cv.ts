/**
 * Tone-model experiments on the fairness photos, judged only on faces each model was not fitted on.
 *
 * Protocol (fixed before any candidate below was scored):
 *  - every candidate is a feature list read from the photo + a fit rule (ordinary least squares of
 *    the label; "stretch": the same fit with its training predictions rescaled to the labels' spread,
 *    against the regression-to-the-middle that reads MST 2 too deep and MST 8 too light; "none": a
 *    rule with no parameters);
 *  - each candidate's leave-one-out figure (every face read by the fit on the other 76);
 *  - the headline is NESTED leave-one-out: for each face, the candidate is chosen by leave-one-out
 *    on the other 76 faces alone (most within +-1, then lowest mean |error|, then the earlier in the
 *    list), fitted on those 76 and reads the face. So the choice among candidates is held out too.
 *  - the fixed two-fold split of eval-fairness (odd/even rows) is printed beside it.
 * Measurements come from the mirror's own code (sampleSkin, whitesOf) on its own cached mesh
 * (fairness-landmarks.ts).
 *
 * Round 4 (2026-12-02, written before any round-4 figure was seen, on the 136-face set):
 *  - a robustness gate (fairness-robustness.ts): a candidate's fit is read on the side-shadow,
 *    3000 K / 6500 K (corrected) and demo-clip scenes of the advisor's tests; a fit that moves a
 *    reading by more than 1 MST there (or whose demo-clip frames span more than 1 level) is never
 *    chosen. In the nested leave-one-out the gate is applied to the very fit that would read the
 *    held-out face (the fit on the other faces), so the choice stays held out;
 *  - the per-candidate table says whether the fit on all faces passes the gate, and which scene fails;
 *  - two non-linear candidates: the mean label of the k = 9 nearest faces (features standardised by
 *    the training faces' mean and spread) on the "current" and on the "q75logs" features.
 *
 * Round 5 (after round 4's choice, "q75logs knn9", was built into the device and read sample6 two
 * levels deeper under 0.6x the light in tests/advisor/tone-estimate.test.ts): the gate gains that
 * scene and a bluer light (fairness-robustness.ts); candidates and selection rule unchanged.
 *
 * Round 6 (2026-12-02, written before any round-6 figure was seen; 166 faces: 30 more at the ends of
 * the scale, SOURCES.md): per-face errors (fairness-diagnose.ts) showed the least-squares scores pulled
 * to the middle (MST 2 faces score 3.6 on average, MST 8 6.8), so every least-squares candidate gains a
 * "cut" twin: the same score read through ordinal cut points chosen on the training faces to read most
 * of them within ±1 (fairness-fit.ts fitCuts), instead of rounding. Selection rule and gate unchanged;
 * ROUND=5 reproduces round 5's candidate list on the current faces.
 *
 * Round 7 (2026-12-02, written before any round-7 figure was seen; same 166 faces): round 6 left
 * MST 3, 4 and 5 with the same lit-skin luminance (4 read 67 %, 5 54 % within ±1), so seven feature
 * lists add to "itaWbIta" (or to the lit skin's ITA°) a cue that might separate them, each with the
 * ols / stretch / cut fits: the lit skin's chroma C*ab (deeper skin is usually more saturated), its hue
 * angle h_ab, the white-balanced skin's chroma, the L* of the well-exposed (non-specular, unclipped)
 * face-skin pixels at q50 and q90, the lit/shadow ratio (ln Y at q90 − ln Y at q25 of those pixels),
 * and the forehead − cheek L* contrast (both patches counted by the sampler). Selection rule and gate
 * unchanged (fairness-select.ts); ROUND=6 reproduces round 6's list.
 * Round 7 result (recorded after the run): 76 candidates, 44 fail the gate (5 of the 21 new ones).
 * Best new ones by leave-one-out: "itaWbItaShade cut" and "itaWbItaLq cut" 78.3 % (130/166; "itaWbIta
 * cut" 76.5 %); chroma, hue, white-balanced chroma and forehead/cheek contrast add nothing (70.5–77.7 %).
 * NESTED: 74.7 % (124/166), below round 6's 75.3 % (125/166) on the same faces: the choice between the
 * two tied new candidates costs what each gains; MST 4 9/15 and 5 5/13 (round 6: 10/15, 7/13). Not shipped.
 *
 * Round 8 (2026-12-02, written before any round-8 candidate was scored; same 166 faces). What was looked
 * at first, on all 166 faces, so the list below is not blind to them: fairness-diagnose.ts's worst faces
 * (P000604, C001099, J000070, labelled 8, read at ITA° 38–44: their cheek patches sit on the flash-lit
 * centre of the face, pixels like (199, 153, 137), while the sides a person also sees are (98, 65, 46) to
 * (170, 125, 100)), and one rank correlation per cue with the label: |Spearman ρ| of the ITA° of the
 * faceSkin's median band (L* q40–q60) 0.76, of the patch skin colour (today's ITA°) 0.59, of today's
 * white-balanced ITA° 0.65, of the median band white-balanced 0.72. No model was fitted or scored on
 * them before this list was written. Candidates (each ols / stretch / cut, gate and selection unchanged):
 *  - hq50ita: the ITA° of the lit half's median band (litHalfMedian below: the faceSkin
 *    pixels split at the column of mesh point 168, highlights and clipped pixels out, the lighter half's
 *    mean over L* q40–q60; a face shadowed on one side reads its lit side);
 *  - hq50WbIta: that ITA° and the same colour white-balanced by the whites (as wbIta);
 *  - itaWbItaHq50: today's ITA° and white-balanced ITA° with the lit half's ITA° added;
 *  - q50WbIta: the whole face's median band (no halves), its ITA° and white-balanced ITA° (tells whether
 *    the split matters).
 * ROUND=7 reproduces round 7's list. The nested loop prints its progress (faces done, CPU seconds);
 * NESTED=0 stops before it (the per-candidate table only, with each fit's in-sample figure).
 * Round 8 result (recorded after the run, 166 faces): 88 candidates. By leave-one-out "q50WbIta cut"
 * 80.7 % (134/166; MST 4 11/15, 5 5/13), "itaWbItaHq50 cut" 79.5 %, "hq50WbIta cut" 78.3 %, all three pass
 * the gate; the lit half alone (hq50ita cut) fails 0.6x / bluer light. NESTED: 75.3 % (125/166, exact 45),
 * the same count as round 6, chosen q50WbIta cut x137, itaWbItaHq50 cut x24, hq50WbIta cut x3,
 * itaWbItaLq cut x2; per tone MST 4 8/15, 5 4/13 (round 6: 10/15, 7/13), 6 17/20, 9 1/2. The folds where
 * q50WbIta cut is not chosen are those whose held-out face it reads right (leaving it out costs it a hit),
 * so the choice costs what the best candidate gains.
 *
 * Round 8 fresh check (2026-12-02, written after the round-8 result and before any model read the new
 * faces): 49 more faces from the rest of the same 118th-Congress pool, picked as neither clearly pale nor
 * clearly deep and labelled blind (SOURCES.md, "Fresh check set"; `set` in labels.json). Every candidate is
 * fitted on the other faces (the 166) and reads them: printed per candidate, first. The decisive
 * comparison, fixed now: the shipped "itaWbIta cut" against round 8's most chosen "q50WbIta cut", faces
 * within ±1 of the 49, per tone. The form that reads more of them (the shipped one on a tie) is the one
 * shipped, refitted on all faces, if its fit passes the gate. The nested leave-one-out then runs on all
 * faces as before (the fresh ones included: from then on they are not fresh).
 *
 * Round 9 (2026-12-02, written and committed before any new face was read by any software, the mesh included;
 * 215 faces read so far). Round 8 left the shipped form at 73 % leave-one-out on 215 faces and 67 % on the 49 of
 * the round-8 check set. The form named now, the only one this round can ship: "itaWbItaLq cut" (round 7's
 * feature list: ITA°, white-balanced ITA°, and the L* of the well-exposed face skin at q50 and q90; least
 * squares of the label, read through 9 cut points fitted on the training faces). Why this one: on all 215 faces
 * its fit passes the robustness gate and it reads 79.1 % by leave-one-out, the best of the candidates that pass
 * (round 8's README); it was picked after looking at those 215 faces, so only new faces can judge it.
 *  - New faces: real portraits from a public source not used before, licence allowing redistribution, mostly
 *    MST 4-10, labelled blind (SOURCES.md) and committed before any model or the mesh reads them; in labels.json
 *    `"set": "fresh check (round 9)"`. Candidates are not changed or tuned after they are read.
 *  - The decisive comparison, on the new faces only, within ±1 of the label: A = "itaWbItaLq cut" fitted on
 *    the 215 earlier faces (every face without the round-9 set, the round-8 check set included) against
 *    B = the shipped model as committed (device/advisor/tone-model.json: "itaWbIta cut" fitted on the 166).
 *    Printed as "round 9 DECISIVE", with "itaWbIta cut" fitted on the same 215 beside it for information only.
 *  - A ships only if all three hold: (1) A reads more of the new faces within ±1 than B (a tie keeps B);
 *    (2) A fitted on all faces (the new ones included) passes the robustness gate (fairness-select.ts);
 *    (3) on all faces, A's leave-one-out within ±1 is above the shipped form's ("itaWbIta cut"), i.e. the
 *    README's leave-one-out figure rises. With fewer than 20 new faces the round is too small to judge and
 *    nothing ships. Otherwise the model stays, the new faces stay a check set (never fitted), and the README
 *    reports what they read.
 *  - The other candidates are printed on the new faces (fitted on the 215) but do not decide anything; the
 *    nested leave-one-out then runs on all faces as before.
 * Round 9 result (recorded after the run; 100 new faces: UK Parliament official portraits, CC BY 3.0, SOURCES.md;
 * labels MST 2:1 3:11 4:15 5:24 6:23 7:8 8:18). On the new faces, within ±1: A "itaWbItaLq cut" (fitted on the
 * 215) 68/100 (MST 3 11/11, 4 15/15, 5 9/24 with 12 read too light, 6 11/23, 7 6/8, 8 15/18); B the shipped model
 * 41/100 (MST 5 0/24, 6 2/23: it reads these faces as MST 3); "itaWbIta cut" refitted on the 215, 45/100. (1) holds.
 * On all 315 faces: A's fit passes the gate (2), and its leave-one-out is 77.1 % (243/315) against 66.3 % for
 * "itaWbIta cut" (3; that form, refitted with the new faces, reads 28 of the 30 MST 2 faces too deep). So A ships,
 * fitted on all 315 faces (device/advisor/tone-estimate.ts "whiteBalancedL"; no set is held out any more,
 * eval-fairness.ts HELD_OUT_SETS). Not a result, since nothing was named for it: the best of all 88 candidates on
 * the new faces was "logsC ols" (81/100), which fails the gate; by leave-one-out on the 315 the best that pass are
 * "q75logs knn9" 78.1 %, "itaWbItaLq cut" and "itaWbItaHq50 cut" 77.1 %. No candidate reaches 80 % held out; A's
 * in-sample figure (its cut points fitted on the same 315 faces) is 82.5 %. NESTED on the 315: 73.0 % (230/315,
 * exact 91), chosen q75logs knn9 x277, itaWbItaLq cut x30, itaWbItaHq50 cut x7, hq50WbIta cut x1; per tone MST 2
 * 14/30 (16 deep), 3 47/58, 4 39/45, 5 32/47, 6 32/46, 7 32/42, 8 34/44, 9 0/2.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MONK_SWATCHES, itaOf } from '../advisor/monk.ts';
import { sampleSkin } from '../advisor/skin-sample.ts';
import { whitesOf } from '../advisor/whites.ts';
import { labToLinear, linearToLab, type Lab } from '../advisor/lab.ts';
import { deltaE2000 } from '../tryon/colour.ts';
import { patchPixels, type PatchPixels } from '../advisor/patch-pixels.ts';
import { median } from '../advisor/robust.ts';
import { fitCuts, leastSquares } from './fairness-fit.ts';
import { calibrated, toneScore, WHITES_REFLECTANCE as WREF, type ToneFeatures, type ToneModel } from '../advisor/tone-estimate.ts';
import { robustnessScenes, type Landmarks } from './fairness-robustness.ts';
import { agreement, chooseCandidate, gateFailures, looLevels, monkLevel as level } from './fairness-select.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import { FIXTURES, frameOf, LabelsSchema, readRelabelling } from './eval-fairness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const labels = LabelsSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, 'labels.json'), 'utf8')));
const marks = JSON.parse(readFileSync(path.join(root, 'test-artifacts', 'fairness', 'landmarks.json'), 'utf8')) as Record<string, Array<[number, number, number]> | null>;

/** What a candidate reads from one face. */
interface Measured {
  lab: Lab;
  ita: number;
  whites: { y: number; logBG: number; rgb: [number, number, number] } | null;
  relBG: number | null;
  wbLab: Lab | null;
  /** Round 2: the faceSkin colour at L* quantiles (non-specular pixels): q50, q75, q90. */
  q: Record<'q50' | 'q75' | 'q90', Lab> & { q25: Lab };
  /** Round 7: forehead L* − the counted cheeks' mean L* (null unless the forehead and a cheek were counted). */
  foreheadMinusCheek: number | null;
  /** Round 8: the lit half's median-band colour (litHalfMedian) and the same white-balanced by the whites; null: not read. */
  half: Lab | null;
  wbHalf: Lab | null;
  /** Round 8: the whole face's median band (q.q50) white-balanced by the whites; null: no whites. */
  wbQ50: Lab | null;
  /** Round 9: the mirror's own tone features (skin-sample.ts), which the shipped TONE_MODEL reads. */
  tone: ToneFeatures | null;
}
interface Face extends Measured {
  file: string;
  label: number;
  row: number;
  set?: string;
}

const SPEC_CHROMA = 0.75;
function quantileColours(px: ReturnType<typeof patchPixels>): Measured['q'] {
  const idx: number[] = [];
  for (let i = 0; i < px.count; i++) if (!px.clipped[i]) idx.push(i);
  const L = (i: number) => px.lab[i * 3];
  const C = (i: number) => Math.hypot(px.lab[i * 3 + 1], px.lab[i * 3 + 2]);
  const mL = median(idx.map(L));
  const mC = median(idx.map(C));
  const keep = idx.filter((i) => !(L(i) > mL + 10 && C(i) < SPEC_CHROMA * mC)).sort((a, b) => L(a) - L(b));
  const at = (q: number): Lab => {
    const from = Math.max(0, Math.floor((q - 0.1) * keep.length));
    const to = Math.min(keep.length, Math.ceil((q + 0.1) * keep.length));
    const sum: Lab = [0, 0, 0];
    for (let k = from; k < to; k++) for (let c = 0; c < 3; c++) sum[c] += px.lab[keep[k] * 3 + c];
    return sum.map((v) => v / (to - from)) as Lab;
  };
  return { q25: at(0.25), q50: at(0.5), q75: at(0.75), q90: at(0.85) };
}

/** The median band: the pixels between these quantiles of L* (the skin's middle tone, neither its lit centre nor its edge). */
const MEDIAN_BAND = [0.4, 0.6] as const;
/** A half of the face needs this many read pixels to count. */
const MIN_HALF = 30;
/** The mesh point between the brows: the line between the face's two halves. */
const MIDLINE_POINT = 168;

/**
 * The lit half's middle skin colour (CIELAB): the faceSkin pixels, clipped ones and highlights left out
 * (as tone-estimate.ts litSkin), split at the column of the point between the brows; each half's mean colour over its
 * median band of L*; the half whose band is lighter (a face lit from one side reads its lit side; with
 * one half too small, the other). Why the median and not the cheek patches' lit centre: under a flash
 * the centre of a deep-toned face shines back lighter than the skin a person judges (round 8, header). Null: too few pixels.
 */
function litHalfMedian(px: PatchPixels, midX: number): Lab | null {
  const read: number[] = [];
  for (let i = 0; i < px.count; i++) if (!px.clipped[i]) read.push(i);
  if (read.length < MIN_HALF) return null;
  const L = (i: number) => px.lab[i * 3];
  const C = (i: number) => Math.hypot(px.lab[i * 3 + 1], px.lab[i * 3 + 2]);
  const mL = median(read.map(L));
  const mC = median(read.map(C));
  const kept = read.filter((i) => !(L(i) > mL + 10 && C(i) < SPEC_CHROMA * mC));
  const band = (idx: number[]): Lab | null => {
    if (idx.length < MIN_HALF) return null;
    const sorted = [...idx].sort((a, b) => L(a) - L(b));
    const from = Math.floor(MEDIAN_BAND[0] * sorted.length);
    const to = Math.ceil(MEDIAN_BAND[1] * sorted.length);
    const sum: Lab = [0, 0, 0];
    for (let k = from; k < to; k++) for (let c = 0; c < 3; c++) sum[c] += px.lab[sorted[k] * 3 + c];
    return sum.map((v) => v / (to - from)) as Lab;
  };
  const left = band(kept.filter((i) => px.x[i] < midX));
  const right = band(kept.filter((i) => px.x[i] >= midX));
  if (left && right) return left[0] >= right[0] ? left : right;
  return left ?? right ?? band(kept);
}

/** Every candidate's inputs from one image and the mirror's mesh on it; null: no skin read. */
function measure(image: RgbImage, lm: Landmarks): Measured | null {
  const face = { box: { x: 0, y: 0, width: 0, height: 0 }, score: 1, landmarks: lm };
  const s = sampleSkin(image, face);
  if (!s) return null;
  const w = whitesOf(image, face, s.lab);
  const skinRgb = labToLinear(s.lab);
  const wbLab = w ? linearToLab(skinRgb.map((v, c) => (v / w.rgb[c]) * WREF) as [number, number, number]) : null;
  const counted = (r: string) => s.patches.filter((p) => p.region === r && p.dropped === null).map((p) => p.lab[0]);
  const cheeks = [...counted('cheekLeft'), ...counted('cheekRight')];
  const forehead = counted('forehead');
  const foreheadMinusCheek = cheeks.length && forehead.length ? forehead[0] - cheeks.reduce((a, b) => a + b, 0) / cheeks.length : null;
  const px = patchPixels(image, lm, 'faceSkin', 600);
  const q = quantileColours(px);
  const half = litHalfMedian(px, lm[MIDLINE_POINT][0]);
  const balanced = (lab: Lab | null) => (w && lab ? linearToLab(labToLinear(lab).map((v, c) => (v / w.rgb[c]) * WREF) as [number, number, number]) : null);
  return { lab: s.lab, ita: itaOf(s.lab), whites: w, relBG: s.tone?.relBG ?? null, wbLab, q, foreheadMinusCheek, half, wbHalf: balanced(half), wbQ50: balanced(q.q50), tone: s.tone };
}

const faces: Face[] = [];
for (const [row, l] of labels.entries()) {
  const lm = marks[l.file];
  if (!lm) continue;
  const m = measure(await frameOf(path.join(FIXTURES, l.file)), lm);
  if (m) faces.push({ ...m, file: l.file, label: l.monk, row, set: l.set });
}
const scenes = await robustnessScenes(measure);

type Feat = (f: Measured) => number[] | null;
const lnY = (lab: Lab) => Math.log(labToLinear(lab).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0));
const chromaOf = (lab: Lab) => Math.hypot(lab[1], lab[2]);
const hueOf = (lab: Lab) => (Math.atan2(lab[2], lab[1]) * 180) / Math.PI;
const FEATURES: Record<string, Feat> = {
  current: (f) => (f.whites && f.relBG !== null ? [f.ita, Math.log(f.whites.y), f.relBG] : null),
  ita: (f) => [f.ita],
  Lb: (f) => [f.lab[0], f.lab[2]],
  Lab: (f) => [...f.lab],
  logs: (f) => {
    if (!f.whites) return null;
    const s = labToLinear(f.lab);
    return [lnY(f.lab), Math.log(f.whites.y), Math.log(s[2] / s[1]) - f.whites.logBG, Math.log(s[0] / s[1]) - Math.log(f.whites.rgb[0] / f.whites.rgb[1])];
  },
  wbIta: (f) => (f.wbLab ? [itaOf(f.wbLab)] : null),
  wbLb: (f) => (f.wbLab ? [f.wbLab[0], f.wbLab[2]] : null),
  itaWbIta: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab)] : null),
  // Round 2 (added after round 1's results were seen): the lit skin, as the annotator compared it.
  q50ita: (f) => [itaOf(f.q.q50)],
  q75ita: (f) => [itaOf(f.q.q75)],
  q90ita: (f) => [itaOf(f.q.q90)],
  q75Lb: (f) => [f.q.q75[0], f.q.q75[2]],
  q75logs: (f) => {
    if (!f.whites) return null;
    const s = labToLinear(f.q.q75);
    return [lnY(f.q.q75), Math.log(f.whites.y), Math.log(s[2] / s[1]) - f.whites.logBG, Math.log(s[0] / s[1]) - Math.log(f.whites.rgb[0] / f.whites.rgb[1])];
  },
  // Round 3 (added after round 2): fewer parameters (skin luminance relative to the whites), and chroma.
  ratio: (f) => {
    if (!f.whites) return null;
    const s = labToLinear(f.lab);
    return [lnY(f.lab) - Math.log(f.whites.y), Math.log(s[2] / s[1]) - f.whites.logBG, Math.log(s[0] / s[1]) - Math.log(f.whites.rgb[0] / f.whites.rgb[1])];
  },
  logsC: (f) => {
    if (!f.whites) return null;
    const s = labToLinear(f.lab);
    return [lnY(f.lab), Math.log(f.whites.y), Math.log(s[2] / s[1]) - f.whites.logBG, Math.log(s[0] / s[1]) - Math.log(f.whites.rgb[0] / f.whites.rgb[1]), Math.log(Math.hypot(f.lab[1], f.lab[2]))];
  },
  q90logs: (f) => {
    if (!f.whites) return null;
    const s = labToLinear(f.q.q90);
    return [lnY(f.q.q90), Math.log(f.whites.y), Math.log(s[2] / s[1]) - f.whites.logBG, Math.log(s[0] / s[1]) - Math.log(f.whites.rgb[0] / f.whites.rgb[1])];
  },
  // Round 7 (header): cues that might separate MST 3-5, beside ITA° and the white-balanced ITA°.
  itaWbItaC: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab), chromaOf(f.q.q75)] : null),
  itaWbItaHue: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab), hueOf(f.q.q75)] : null),
  itaWbItaWbC: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab), chromaOf(f.wbLab)] : null),
  itaWbItaLq: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab), f.q.q50[0], f.q.q90[0]] : null),
  itaWbItaShade: (f) => (f.wbLab ? [f.ita, itaOf(f.wbLab), lnY(f.q.q90) - lnY(f.q.q25)] : null),
  itaWbItaFC: (f) => (f.wbLab && f.foreheadMinusCheek !== null ? [f.ita, itaOf(f.wbLab), f.foreheadMinusCheek] : null),
  q75itaCHue: (f) => [itaOf(f.q.q75), chromaOf(f.q.q75), hueOf(f.q.q75)],
  // Round 8 (header): the skin's middle tone, read on the lit half of the face.
  hq50ita: (f) => (f.half ? [itaOf(f.half)] : null),
  hq50WbIta: (f) => (f.half && f.wbHalf ? [itaOf(f.half), itaOf(f.wbHalf)] : null),
  itaWbItaHq50: (f) => (f.wbLab && f.half ? [f.ita, itaOf(f.wbLab), itaOf(f.half)] : null),
  q50WbIta: (f) => (f.wbQ50 ? [itaOf(f.q.q50), itaOf(f.wbQ50)] : null),
};

// Each feature list computed once per measurement (the nested loop asks for the same face's features ~10^5 times).
for (const k of Object.keys(FEATURES)) {
  const raw = FEATURES[k];
  const cache = new WeakMap<Measured, number[] | null>();
  FEATURES[k] = (m) => {
    if (!cache.has(m)) cache.set(m, raw(m));
    return cache.get(m)!;
  };
}

interface Model {
  predict(f: Measured): number;
}
type Fit = (train: readonly Face[]) => Model;

function ols(feat: Feat, stretch: boolean, cut = false): Fit {
  return (train) => {
    const fitOn = (fs: readonly Face[], g: Feat) => {
      const rows = fs.flatMap((f) => {
        const x = g(f);
        return x ? [{ x: [1, ...x], y: f.label }] : [];
      });
      const w = leastSquares(rows.map((r) => r.x), rows.map((r) => r.y));
      const raw = (x: number[]) => w.reduce((s, c, i) => s + c * x[i], 0);
      let scale = 1;
      let my = 0;
      let mp = 0;
      if (stretch) {
        const p = rows.map((r) => raw(r.x));
        my = rows.reduce((s, r) => s + r.y, 0) / rows.length;
        mp = p.reduce((s, v) => s + v, 0) / p.length;
        const sd = (v: number[], m: number) => Math.sqrt(v.reduce((s, a) => s + (a - m) ** 2, 0) / v.length);
        scale = sd(rows.map((r) => r.y), my) / sd(p, mp);
      }
      // Round 6: ordinal cut points on the training faces' scores (fairness-fit.ts fitCuts).
      const cuts = cut ? fitCuts(rows.map((r) => raw(r.x)), rows.map((r) => r.y)) : null;
      return (x: number[]) => (cuts ? calibrated(raw(x), cuts) : stretch ? my + (raw(x) - mp) * scale : raw(x));
    };
    const main = fitOn(train, feat);
    const fallback = fitOn(train, FEATURES.ita);
    return {
      predict: (f) => {
        const x = feat(f);
        return x ? main([1, ...x]) : fallback([1, f.ita]);
      },
    };
  };
}

const nearestSwatch = (lab: Lab, by: 'dE' | 'ita'): number => {
  let best = 1;
  let d = Infinity;
  for (const s of MONK_SWATCHES) {
    const v = by === 'dE' ? deltaE2000(lab, s.lab) : Math.abs(itaOf(lab) - s.ita);
    if (v < d) [d, best] = [v, s.monk];
  }
  return best;
};
const fixed = (p: (f: Measured) => number): Fit => () => ({ predict: p });

/** Round 4: the mean label of the k nearest training faces, features standardised by the training faces. */
function knn(feat: Feat, k: number): Fit {
  return (train) => {
    const rows = train.flatMap((f) => {
      const x = feat(f);
      return x ? [{ x, y: f.label }] : [];
    });
    const dims = rows[0].x.length;
    const mean = [...Array(dims)].map((_, d) => rows.reduce((s, r) => s + r.x[d], 0) / rows.length);
    const sd = [...Array(dims)].map((_, d) => Math.sqrt(rows.reduce((s, r) => s + (r.x[d] - mean[d]) ** 2, 0) / rows.length) || 1);
    const z = (x: number[]) => x.map((v, d) => (v - mean[d]) / sd[d]);
    const zs = rows.map((r) => ({ z: z(r.x), y: r.y }));
    const fallback = ols(FEATURES.ita, false)(train);
    return {
      predict: (f) => {
        const x = feat(f);
        if (!x) return fallback.predict(f);
        const q = z(x);
        const near = zs
          .map((r) => ({ d: r.z.reduce((s, v, i) => s + (v - q[i]) ** 2, 0), y: r.y }))
          .sort((a, b) => a.d - b.d)
          .slice(0, k);
        return near.reduce((s, r) => s + r.y, 0) / near.length;
      },
    };
  };
}

const ALL_CANDIDATES: Array<[string, Fit]> = [
  ...Object.keys(FEATURES).flatMap((k): Array<[string, Fit]> => [
    [`${k} ols`, ols(FEATURES[k], false)],
    [`${k} stretch`, ols(FEATURES[k], true)],
    [`${k} cut`, ols(FEATURES[k], false, true)],
  ]),
  ['swatch dE2000 of white-balanced skin (none)', fixed((f) => nearestSwatch(f.wbLab ?? f.lab, 'dE'))],
  ['swatch ITA of white-balanced skin (none)', fixed((f) => nearestSwatch(f.wbLab ?? f.lab, 'ita'))],
  ['swatch dE2000 of skin (none)', fixed((f) => nearestSwatch(f.lab, 'dE'))],
  ['swatch dE2000 of q75 skin (none)', fixed((f) => nearestSwatch(f.q.q75, 'dE'))],
  ['swatch dE2000 of q90 skin (none)', fixed((f) => nearestSwatch(f.q.q90, 'dE'))],
  ['current knn9', knn(FEATURES.current, 9)],
  ['q75logs knn9', knn(FEATURES.q75logs, 9)],
];

const ROUND1 = /^(current|ita|Lb|Lab|logs|wbIta|wbLb|itaWbIta) |white-balanced|swatch dE2000 of skin/;
const ROUND3 = /^(ratio|logsC) /;
const ROUND4 = / knn9$/;
const ROUND6 = / cut$/;
const ROUND7 = /^(itaWbItaC|itaWbItaHue|itaWbItaWbC|itaWbItaLq|itaWbItaShade|itaWbItaFC|q75itaCHue) /;
const ROUND8 = /^(hq50ita|hq50WbIta|itaWbItaHq50|q50WbIta) /;
// ROUND=N reproduces round N's candidate list: the later rounds' candidates left out (round 1: its own list).
const LATER: Record<string, RegExp[]> = {
  '2': [ROUND3, ROUND4, ROUND6, ROUND7, ROUND8],
  '3': [ROUND4, ROUND6, ROUND7, ROUND8],
  '5': [ROUND6, ROUND7, ROUND8],
  '6': [ROUND7, ROUND8],
  '7': [ROUND8],
};
const CANDIDATES =
  process.env.ROUND === '1' ? ALL_CANDIDATES.filter(([n]) => ROUND1.test(n)) : ALL_CANDIDATES.filter(([n]) => !(LATER[process.env.ROUND ?? ''] ?? []).some((r) => r.test(n)));

const pct = (h: number, n: number) => `${((100 * h) / n).toFixed(1)} %`;
const perTone = (pred: number[], set: readonly Face[]) => {
  const out: string[] = [];
  for (let m = 1; m <= 10; m++) {
    const idx = set.map((f, i) => (f.label === m ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) continue;
    const ok = idx.filter((i) => Math.abs(pred[i] - m) <= 1).length;
    const deep = idx.filter((i) => pred[i] > m + 1).length;
    out.push(`${m}:${ok}/${idx.length}${deep ? ` (${deep} deep, ${idx.length - ok - deep} light)` : ''}`);
  }
  return out.join(' ');
};

console.log(`${faces.length} faces read of ${labels.length}\n`);

// Round 8's fresh check (header): each candidate fitted on the faces outside the set reads the set.
const FRESH = 'fresh check (round 8)';
const fresh = faces.filter((f) => f.set === FRESH);
if (fresh.length) {
  const before = faces.filter((f) => f.set === undefined);
  console.log(`fresh check: ${fresh.length} faces, each candidate fitted on the other ${before.length}`);
  console.log('candidate | within ±1 | exact | mean |err| | robust (fit on the others) | per tone');
  for (const [name, fit] of CANDIDATES) {
    const model = fit(before);
    const p = fresh.map((f) => level(model.predict(f)));
    const s = agreement(p, fresh);
    const failed = gateFailures(model, scenes);
    console.log(`fresh ${name} | ${pct(s.hits, fresh.length)} (${s.hits}/${fresh.length}) | ${s.exact} | ${s.mae.toFixed(2)} | ${failed.length ? 'FAILS' : 'passes'} | ${perTone(p, fresh)}`);
  }
  console.log('');
}
// Round 9 (header): the pre-named form against the shipped model, on the new faces only.
const FRESH9 = 'fresh check (round 9)';
/** B: device/advisor/tone-model.json as committed when round 9 was decided (before it shipped A, fitted on all faces). */
const ROUND9_SHIPPED: ToneModel = {
  inputs: 'whiteBalanced',
  withWhites: [10.0637, -0.0286804, -0.0631936],
  skinOnly: { intercept: 6.88983, ita: -0.0581834 },
  cuts: [1.82912, 2.53841, 4.4955, 4.84241, 4.99017, 5.43017, 7.56205, 8.89014, 9.87437],
};
const PRE_NAMED = 'itaWbItaLq cut';
const fresh9 = faces.filter((f) => f.set === FRESH9);
if (fresh9.length) {
  const earlier = faces.filter((f) => f.set !== FRESH9);
  const fitOf = (name: string) => CANDIDATES.find(([n]) => n === name)?.[1] ?? ALL_CANDIDATES.find(([n]) => n === name)![1];
  const shipped = fresh9.map((f) => level(f.tone ? toneScore(f.tone, ROUND9_SHIPPED) : NaN));
  const a = fresh9.map((f) => level(fitOf(PRE_NAMED)(earlier).predict(f)));
  const info = fresh9.map((f) => level(fitOf('itaWbIta cut')(earlier).predict(f)));
  const line = (name: string, p: number[]) => {
    const s = agreement(p, fresh9);
    return `${name} | ${pct(s.hits, fresh9.length)} (${s.hits}/${fresh9.length}) | exact ${s.exact} | mean |err| ${s.mae.toFixed(2)} | ${perTone(p, fresh9)}`;
  };
  console.log(`round 9 fresh check: ${fresh9.length} new faces (never fitted); A fitted on the ${earlier.length} earlier faces`);
  console.log(`round 9 DECISIVE A ${line(PRE_NAMED, a)}`);
  console.log(`round 9 DECISIVE B ${line('the model shipped before round 9 (itaWbIta cut on the 166)', shipped)}`);
  console.log(`round 9 info ${line('itaWbIta cut fitted on the same earlier faces', info)}`);
  const ha = agreement(a, fresh9).hits;
  const hb = agreement(shipped, fresh9).hits;
  console.log(`round 9 condition (1) A > B on the new faces: ${ha > hb ? 'yes' : 'no'} (${ha} vs ${hb}); ${fresh9.length < 20 ? 'FEWER THAN 20 NEW FACES: nothing ships' : `${fresh9.length} new faces`}`);
  console.log('round 9 per face (file label A B):', fresh9.map((f, i) => `${f.file} ${f.label} ${a[i]} ${shipped[i]}`).join(', '));
  console.log('candidate | within ±1 of the new faces (fitted on the earlier faces; for information) | exact | mean |err| | per tone');
  for (const [name, fit] of CANDIDATES) {
    const model = fit(earlier);
    console.log(`fresh9 ${line(name, fresh9.map((f) => level(model.predict(f))))}`);
  }
  console.log('');
}
// "in-sample": the fit on all faces read on those same faces. For a cut candidate the cuts maximise exactly
// this count, so it is the most any monotone reading of that score can reach on these faces (a ceiling).
console.log('candidate | LOO within ±1 | LOO exact | LOO mean |err| | two-fold within ±1 | in-sample within ±1 | robust (fit on all faces) | LOO per tone');
for (const [name, fit] of CANDIDATES) {
  const p = looLevels(fit, faces);
  const s = agreement(p, faces);
  const odd = faces.filter((f) => f.row % 2 === 1);
  const even = faces.filter((f) => f.row % 2 === 0);
  const mOdd = fit(odd);
  const mEven = fit(even);
  const two = faces.filter((f) => Math.abs(level((f.row % 2 === 1 ? mEven : mOdd).predict(f)) - f.label) <= 1).length;
  const onAll = fit(faces);
  const inSample = agreement(faces.map((f) => level(onAll.predict(f))), faces).hits;
  const failed = gateFailures(onAll, scenes);
  console.log(`${name} | ${pct(s.hits, faces.length)} | ${s.exact} | ${s.mae.toFixed(2)} | ${pct(two, faces.length)} | ${pct(inSample, faces.length)} | ${failed.length ? `FAILS ${failed.join('; ')}` : 'passes'} | ${perTone(p, faces)}`);
}
if (process.env.NESTED === '0') process.exit(0);

// Nested leave-one-out: the choice of candidate held out as well.
const nested: number[] = [];
const chosen = new Map<string, number>();
for (const [i, f] of faces.entries()) {
  const rest = faces.filter((_, j) => j !== i);
  // The gate and the selection rule: fairness-select.ts (a fit that fails a robustness scene is never chosen).
  const best = chooseCandidate(CANDIDATES, rest, scenes);
  if (!best) throw new Error(`no candidate passes the robustness scenes without ${f.file}`);
  chosen.set(best.name, (chosen.get(best.name) ?? 0) + 1);
  nested.push(level(best.model.predict(f)));
  if ((i + 1) % 10 === 0) console.error(`nested ${i + 1}/${faces.length}, ${(process.cpuUsage().user / 1e6).toFixed(0)} s CPU`);
}
const ns = agreement(nested, faces);
console.log(`\nNESTED LOO (robust candidates only) within ±1: ${pct(ns.hits, faces.length)} (${ns.hits}/${faces.length}), exact ${ns.exact}, mean |err| ${ns.mae.toFixed(2)}; per tone ${perTone(nested, faces)}`);
console.log(`chosen: ${[...chosen].map(([k, v]) => `${k} x${v}`).join(', ')}`);

// The labels' own noise: a second, blind labelling (fairness-sheets.ts; SOURCES.md) against the first.
const second = readRelabelling('labels-second.json');
const secondLabelled = labels.filter((l) => second.has(l.file));
const pairs = secondLabelled.map((l) => [l.monk, second.get(l.file)!] as const);
const agree = pairs.filter(([a, b]) => Math.abs(a - b) <= 1).length;
const exact = pairs.filter(([a, b]) => a === b).length;
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
console.log(
  `\nsecond annotator vs labels.json: within ±1 ${pct(agree, pairs.length)} (${agree}/${pairs.length}), exact ${pct(exact, pairs.length)}, ` +
    `mean (second − first) ${mean(pairs.map(([a, b]) => b - a)).toFixed(2)} levels; off by 2+: ${secondLabelled.filter((l) => Math.abs(l.monk - second.get(l.file)!) >= 2).map((l) => `${l.file} ${l.monk}→${second.get(l.file)}`).join(', ') || 'none'}`,
);
