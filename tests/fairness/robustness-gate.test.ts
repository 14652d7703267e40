/**
 * fairness-cv.ts's robustness gate (device/tools/fairness-robustness.ts): which scenes a candidate's
 * levels fail, and the side shadow it paints (the one the advisor's analysis test paints).
 */
import { describe, expect, it } from 'vitest';
import { failedScenes, sideShadow, type Scene } from '../../device/tools/fairness-robustness.ts';

describe('robustness gate', () => {
  it('a reading more than 1 level from its reference fails its scene; without a reference, readings spanning more than 1 level fail', () => {
    const scenes: Array<Scene<number>> = [
      { name: 'shadow', reference: 5, others: [4] },
      { name: 'casts', reference: 5, others: [6, 4] },
      { name: 'clip', reference: null, others: [5, 6, 5, 6] },
    ];
    const identity = (m: number) => m;
    expect(failedScenes(scenes, identity)).toEqual([]);
    expect(failedScenes([{ name: 'shadow', reference: 5, others: [3] }], identity)).toEqual(['shadow (5 -> 3)']);
    expect(failedScenes([{ name: 'casts', reference: 5, others: [6, 7] }], identity)).toEqual(['casts (5 -> 6/7)']);
    expect(failedScenes([{ name: 'clip', reference: null, others: [5, 6, 7] }], identity)).toEqual(['clip (5..7)']);
    // The level function is the candidate's: one that doubles the spread fails what the raw one passes.
    expect(failedScenes(scenes, (m) => 2 * m).map((s) => s.split(' ')[0])).toEqual(['shadow', 'casts', 'clip']);
  });

  it('the side shadow: left of the nose bridge at 35 % of the linear light, the rest untouched', () => {
    const width = 10;
    const image = { width, height: 2, data: new Uint8Array(width * 2 * 3).fill(200) };
    const lm = Array.from({ length: 468 }, () => [0, 0, 0] as [number, number, number]);
    lm[168] = [4.5, 1, 0];
    const out = sideShadow(image, lm);
    const lin = (v: number) => (v / 255) ** 2.2;
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < width; x++) {
        const v = out.data[(y * width + x) * 3];
        if (x < 4) expect(lin(v) / lin(200)).toBeCloseTo(0.35, 1);
        else expect(v).toBe(200);
      }
    expect(image.data.every((v) => v === 200)).toBe(true);
  });
});
