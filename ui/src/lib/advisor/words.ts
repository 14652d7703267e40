/**
 * The advisor's reading in plain words for the shopper (device/advisor computes it; the formulas
 * are documented there). Nothing here measures anything: it only explains.
 */
import type { AdvisorMessage } from '../../../../device/transport/events.ts';

/** Published Monk Skin Tone swatches (skintone.google, CC BY 4.0), to show the level's colour. */
export const MONK_HEX = ['#f6ede4', '#f3e7db', '#f7ead0', '#eadaba', '#d7bd96', '#a07e56', '#825c43', '#604134', '#3a312a', '#292420'] as const;

export const depthOf = (monk: number): 'light' | 'medium' | 'deep' => (monk <= 3 ? 'light' : monk <= 6 ? 'medium' : 'deep');

export function toneWords(reading: AdvisorMessage): string {
  return `Tone ${reading.monk} of 10 on the Monk scale (1 is the lightest, 10 the deepest): a ${depthOf(reading.monk)} skin tone.`;
}

export const UNDERTONE_WORDS: Record<AdvisorMessage['undertone'], string> = {
  warm: 'Warm undertone: your skin leans golden or peachy, so golds, corals and bronzes sit well.',
  neutral: 'Neutral undertone: neither golden nor pink stands out, so most shades sit well.',
  cool: 'Cool undertone: your skin leans pink or rosy, so berries, plums and blue-reds sit well.',
};

export const FACE_SHAPE_WORDS: Record<AdvisorMessage['faceShape'], string> = {
  oval: 'Oval face: blush on the apples of the cheeks, a light contour under the cheekbones.',
  round: 'Round face: blush swept up towards the temples, contour under the cheekbones for length.',
  square: 'Square face: blush swept up towards the temples, a soft contour at the jaw corners.',
  heart: 'Heart-shaped face: blush on the apples, contour at the temples, keep the chin light.',
  long: 'Long face: blush across the apples towards the ears, contour at the hairline and chin.',
};

/** ΔE2000 between the skin and a shade, in words (about 2 is the smallest difference most people see). */
export function closeness(deltaE: number): string {
  if (deltaE < 2) return 'almost identical to your skin';
  if (deltaE < 4) return 'very close to your skin';
  if (deltaE < 7) return 'close to your skin';
  return 'the nearest we carry';
}

/** A reading the light made uncertain says so, so nobody buys on it alone. */
export const uncertain = (reading: AdvisorMessage): boolean => reading.confidence < 0.4;
