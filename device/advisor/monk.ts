/**
 * The Monk Skin Tone (MST) scale and the individual typology angle (ITA°).
 *
 * Swatches: the 10 published MST orbs, Ellis Monk / Google, https://skintone.google (scale released
 * under CC BY 4.0): #f6ede4 #f3e7db #f7ead0 #eadaba #d7bd96 #a07e56 #825c43 #604134 #3a312a #292420.
 * Their CIELAB (D65, culori) and ITA° are computed from those hex values, not typed in.
 *
 * ITA° = atan2(L* − 50, b*) · 180/π (Chardon et al. 1991): high for light skin, negative for deep.
 * It depends on lightness and yellowness only, so a pinker or yellower cast of the same depth reads
 * the same level. The 10 swatches' ITA° fall monotonically (MST 1 ≈ 81°, 5 ≈ 50°, 6 ≈ 11°,
 * 10 ≈ −72°), while their L* does not (MST 3 is lighter than MST 2): a skin reading maps to the MST
 * level whose swatch ITA° is nearest (boundaries half-way between neighbouring swatches), which is
 * the mapping tests/advisor/analysis.test.ts prints as a table. The advisor's Monk level is not this
 * mapping (it compresses real photos to MST 5-6: eval:fairness) but tone-estimate.ts's model.
 */
import { hexToLab } from '../tryon/colour.ts';
import type { Lab } from './lab.ts';

export const MONK_HEX = ['#f6ede4', '#f3e7db', '#f7ead0', '#eadaba', '#d7bd96', '#a07e56', '#825c43', '#604134', '#3a312a', '#292420'] as const;

/** ITA° in degrees of a CIELAB colour. */
export const itaOf = (lab: Readonly<Lab>): number => (Math.atan2(lab[0] - 50, lab[2]) * 180) / Math.PI;

export interface MonkSwatch {
  monk: number;
  hex: string;
  lab: Lab;
  ita: number;
}

export const MONK_SWATCHES: readonly MonkSwatch[] = MONK_HEX.map((hex, i) => {
  const lab = hexToLab(hex);
  return { monk: i + 1, hex, lab, ita: itaOf(lab) };
});

/** Upper ITA° bound of each level from 2 to 10 (the mid-points between neighbouring swatches). */
const BOUNDARIES = MONK_SWATCHES.slice(1).map((s, i) => (MONK_SWATCHES[i].ita + s.ita) / 2);

/** The MST level (1-10) whose swatch ITA° is nearest. */
export function monkFromIta(ita: number): number {
  let level = 1;
  for (const bound of BOUNDARIES) if (ita < bound) level += 1;
  return level;
}

export const monkFromLab = (lab: Readonly<Lab>): number => monkFromIta(itaOf(lab));

/** Score (tone-estimate.ts, in Monk levels) a reading must pass a level boundary by before a level already shown changes (hysteresis). */
export const HOLD_LEVELS = 0.25;

/** The level for `score`, keeping `shown` while `score` is within HOLD_LEVELS of the boundary next to it. */
export function monkHolding(score: number, shown: number): number {
  const level = Math.min(10, Math.max(1, Math.round(score)));
  if (Math.abs(level - shown) !== 1) return level;
  // The boundary between two neighbouring levels is half-way between them.
  const bound = (level + shown) / 2;
  return Math.abs(score - bound) < HOLD_LEVELS ? shown : level;
}
