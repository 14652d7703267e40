/**
 * The tone model (device/advisor/tone-estimate.ts) judged on faces it was not fitted on:
 *  - leave-one-out (the headline): each face read by the model fitted on all the other faces;
 *  - a fixed two-fold split: fitted on the odd rows of labels.json and read on the even rows, and
 *    the reverse (labels.json is ordered by label, so each half covers every tone); half the faces
 *    per fit, so it says how much the fit moves with the faces it sees.
 * Also says whether the mirror's TONE_MODEL is the fit on all faces outside the check set (faces
 * whose result carries a `set`: a labels.json set still in eval-fairness.ts HELD_OUT_SETS, kept apart for a
 * check fixed before they were read, never fitted; none since round 9; nothing hand-tuned after the fit).
 */
import { monkOfScore, toneInputs, toneScore, TONE_MODEL, type ToneFeatures, type ToneModel } from '../advisor/tone-estimate.ts';
import { fitToneModel, type ToneForm } from './fairness-fit.ts';

export interface WithFeatures {
  label: number;
  features?: ToneFeatures | null;
  /** The portrait series the photo comes from (eval-fairness.ts portraitSeries): one photographer's light. */
  series?: string;
  /** The check set the face belongs to (labels.json `set`); absent: the mirror's model is fitted on it. */
  set?: string;
}

export interface CrossHalf {
  fitOdd: ToneModel;
  fitEven: ToneModel;
  /** The fit on every face outside the check set: what the mirror ships. */
  all: ToneModel;
  /** Per face (same order): the Monk level from the other half's fit; null where no features were read. */
  heldOut: Array<number | null>;
  /** Per face (same order): the Monk level from the fit on every other face; null where no features were read. */
  leaveOneOut: Array<number | null>;
  shippedIsAllFit: boolean;
}

/** Faces with whites a half needs before it can be fitted (5 coefficients). */
const MIN_FIT = 10;

/** The shipped model's form: every held-out fit here has it, so the figures judge what the mirror runs. */
export const SHIPPED_FORM: ToneForm = { inputs: TONE_MODEL.inputs ?? 'lit', cuts: TONE_MODEL.cuts !== undefined };

export function crossHalf(results: readonly WithFeatures[], form: ToneForm = SHIPPED_FORM): CrossHalf | null {
  const half = (parity: number) => results.filter((_, i) => i % 2 === parity).map((r) => ({ features: r.features ?? null, label: r.label }));
  const [odd, even] = [half(1), half(0)];
  const fittable = (h: typeof odd) => h.filter((f) => f.features && toneInputs(f.features, { inputs: form.inputs })).length >= MIN_FIT;
  if (!fittable(odd) || !fittable(even)) return null;
  const fitOdd = fitToneModel(odd, form);
  const fitEven = fitToneModel(even, form);
  const all = fitToneModel(results.filter((r) => r.set === undefined).map((r) => ({ features: r.features ?? null, label: r.label })), form);
  const heldOut = results.map((r, i) => (r.features ? monkOfScore(toneScore(r.features, i % 2 === 1 ? fitEven : fitOdd)) : null));
  const labelled = results.map((r) => ({ features: r.features ?? null, label: r.label }));
  const leaveOneOut = results.map((r, i) => (r.features ? monkOfScore(toneScore(r.features, fitToneModel(labelled.filter((_, j) => j !== i), form))) : null));
  return { fitOdd, fitEven, all, heldOut, leaveOneOut, shippedIsAllFit: JSON.stringify(all) === JSON.stringify(TONE_MODEL) };
}

/**
 * Leave-one-out inside each portrait series: each face read by the model (same form) fitted on the other
 * faces of its own series only, so the fit never has to span two photographers' lights (as one mirror's
 * camera in one store does not). Per face, same order; null where no features were read or the series has
 * too few faces to fit. Not the target's figure (that is crossHalf's leaveOneOut, across series): it says
 * how much of the miss is the difference between the series' light.
 */
export function withinSeriesLeaveOneOut(results: readonly WithFeatures[], form: ToneForm = SHIPPED_FORM): Array<number | null> {
  return results.map((r, i) => {
    if (!r.features) return null;
    const same = results.filter((o, j) => j !== i && o.series === r.series).map((o) => ({ features: o.features ?? null, label: o.label }));
    if (same.filter((f) => f.features && toneInputs(f.features, { inputs: form.inputs })).length < MIN_FIT) return null;
    return monkOfScore(toneScore(r.features, fitToneModel(same, form)));
  });
}
