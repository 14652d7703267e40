/**
 * How fairness-cv.ts chooses a tone-model candidate on a set of labelled faces: the robustness gate
 * first (a fit that moves a reading by more than 1 MST on a robustness scene, fairness-robustness.ts,
 * is never chosen, whatever it scores), then the most faces within ±1 by leave-one-out on that set,
 * then the lowest mean |error|, then the earlier candidate in the list. In nested leave-one-out the
 * set is every face but the held-out one, so the gated fit is the one that would read that face.
 */
import { failedScenes, type Scene } from './fairness-robustness.ts';

export interface ToneCandidateModel<M> {
  /** The continuous score (a Monk level before rounding) for one measurement. */
  predict(m: M): number;
}
export type ToneCandidateFit<M, F extends M & { label: number }> = (train: readonly F[]) => ToneCandidateModel<M>;
export type ToneCandidate<M, F extends M & { label: number }> = readonly [name: string, fit: ToneCandidateFit<M, F>];

/** A score rounded to a Monk level (1–10). */
export const monkLevel = (s: number): number => Math.min(10, Math.max(1, Math.round(s)));

/** The robustness scenes a fitted model fails (empty: it passes the gate). */
export const gateFailures = <M>(model: ToneCandidateModel<M>, scenes: ReadonlyArray<Scene<M>>): string[] => failedScenes(scenes, (m) => monkLevel(model.predict(m)));

/** Every face read by the fit on all the other faces of the set. */
export const looLevels = <M, F extends M & { label: number }>(fit: ToneCandidateFit<M, F>, set: readonly F[]): number[] =>
  set.map((f, i) => monkLevel(fit(set.filter((_, j) => j !== i)).predict(f)));

/** Faces within ±1 of their label, faces read exactly, and the mean |error|. */
export const agreement = (levels: readonly number[], set: ReadonlyArray<{ label: number }>): { hits: number; exact: number; mae: number } => ({
  hits: levels.filter((p, i) => Math.abs(p - set[i].label) <= 1).length,
  exact: levels.filter((p, i) => p === set[i].label).length,
  mae: levels.reduce((s, p, i) => s + Math.abs(p - set[i].label), 0) / levels.length,
});

export interface ToneChoice<M> {
  name: string;
  /** The candidate fitted on the whole set (the fit that passed the gate). */
  model: ToneCandidateModel<M>;
  hits: number;
  exact: number;
  mae: number;
}

/** The candidate chosen on `set` (see the header); null when every candidate's fit fails the gate. */
export function chooseCandidate<M, F extends M & { label: number }>(
  candidates: ReadonlyArray<ToneCandidate<M, F>>,
  set: readonly F[],
  scenes: ReadonlyArray<Scene<M>>,
): ToneChoice<M> | null {
  let best: ToneChoice<M> | null = null;
  for (const [name, fit] of candidates) {
    const model = fit(set);
    if (gateFailures(model, scenes).length) continue;
    const s = agreement(looLevels(fit, set), set);
    if (!best || s.hits > best.hits || (s.hits === best.hits && s.mae < best.mae)) best = { name, model, ...s };
  }
  return best;
}
