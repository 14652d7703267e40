/**
 * fairness-cv.ts's choice of a tone-model candidate (device/tools/fairness-select.ts): the robustness
 * gate comes before the score, so a candidate that reads the faces best but moves a reading by more
 * than 1 MST on a robustness scene is never chosen.
 */
import { describe, expect, it } from 'vitest';
import { chooseCandidate, type ToneCandidate } from '../../device/tools/fairness-select.ts';
import type { Scene } from '../../device/tools/fairness-robustness.ts';

/** A measurement: `steady` holds under the scenes' light, `fragile` tracks the label closely but swings with the light. */
interface M {
  steady: number;
  fragile: number;
}
type F = M & { label: number };

// 20 faces: `fragile` equals the label; `steady` is two levels off on every fourth face.
const faces: F[] = Array.from({ length: 20 }, (_, i) => {
  const label = 2 + (i % 7);
  return { label, fragile: label, steady: label + (i % 4 === 0 ? 2 : 0) };
});
const on = (key: keyof M): ToneCandidate<M, F>[1] => () => ({ predict: (m) => m[key] });
const fragile: ToneCandidate<M, F> = ['fragile', on('fragile')];
const steady: ToneCandidate<M, F> = ['steady', on('steady')];

// A side shadow: `fragile` moves by 2 levels, `steady` by none.
const shadow: Array<Scene<M>> = [{ name: 'side shadow', reference: { steady: 4, fragile: 4 }, others: [{ steady: 4, fragile: 6 }] }];
// A clip whose frames `fragile` reads 3..5 (a span of 2 levels) and `steady` at 4 throughout.
const clip: Array<Scene<M>> = [{ name: 'clip', reference: null, others: [3, 4, 5].map((v) => ({ steady: 4, fragile: v })) }];

describe('tone-model candidate choice', () => {
  it('without a failing scene, the candidate with the most faces within ±1 is chosen', () => {
    const calm: Array<Scene<M>> = [{ name: 'side shadow', reference: { steady: 4, fragile: 4 }, others: [{ steady: 4, fragile: 5 }] }];
    const choice = chooseCandidate([steady, fragile], faces, calm);
    expect(choice?.name).toBe('fragile');
    expect(choice?.hits).toBe(20);
  });

  it('a candidate that moves a reading by more than 1 MST on a robustness scene is never chosen, however well it reads the faces', () => {
    for (const scenes of [shadow, clip]) {
      for (const order of [
        [fragile, steady],
        [steady, fragile],
      ]) {
        const choice = chooseCandidate(order, faces, scenes);
        expect(choice?.name).toBe('steady');
        expect(choice?.hits).toBe(15);
      }
    }
  });

  it('the gate judges the fit on the set it is given (in nested leave-one-out: the fit that reads the held-out face)', () => {
    // A candidate whose fit swings under the shadow only when the set holds a face labelled 8.
    const swingsWith8: ToneCandidate<M, F> = ['swings with an 8', (train) => ({ predict: (m) => (train.some((f) => f.label === 8) ? m.fragile : m.steady) })];
    const without8 = faces.filter((f) => f.label !== 8);
    expect(chooseCandidate([swingsWith8, steady], faces, shadow)?.name).toBe('steady');
    expect(chooseCandidate([swingsWith8, steady], without8, shadow)?.name).toBe('swings with an 8');
  });

  it('when every candidate fails the gate, nothing is chosen', () => {
    expect(chooseCandidate([fragile], faces, shadow)).toBeNull();
  });
});
