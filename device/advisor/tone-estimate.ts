/**
 * The Monk level from robust measures of one face, by the labelled real photos nearest to it
 * (device/tools/fairness-fit.ts; `npm run eval:fairness` reads each photo with the model built on all
 * the other photos). Why not the swatch nearest in ITA° alone: the same skin photographed brighter or
 * bluer reads a different ITA°; a person judging the tone discounts the light by what else is in the
 * face. The model does that with the face's own whites (whites.ts):
 *
 *   lit.logY    ln luminance of the lit skin: the faceSkin region (the whole face without eyes, brows,
 *               lips and nostrils), clipped pixels and highlights (L* > median + 10 and chroma below
 *               0.75 x median) left out, the mean colour of the pixels between the 65th and 85th
 *               percentile of L* (what a person compares with a swatch: the lit skin, not its shadows)
 *   whitesLogY  ln luminance of the whites: brighter whites, a brighter exposure, a lighter-looking skin
 *   lit.relBG   ln(B/G) of the lit skin minus that of the whites (melanin absorbs blue most; a shadow
 *               or an exposure scales R, G and B alike and leaves it as it is)
 *   lit.relRG   ln(R/G) of the lit skin minus that of the whites
 *
 *   score = c0 + c1·lit.logY + c2·whitesLogY + c3·lit.relBG + c4·lit.relRG   (whites found)
 *   score = d0 + d1·ITA°                      (no whites: eyes closed or hidden, no teeth; ITA° of the
 *                                              skin colour of skin-sample.ts)
 *   Monk  = the score rounded, 1..10
 *
 * Chosen by device/tools/fairness-cv.ts ("q75logs ols": nested leave-one-out over 39 candidates, only
 * candidates whose fit passes the side-shadow, 0.6x / bluer light, 3000 K / 6500 K and demo-clip
 * scenes). ita, whitesLogY and relBG (the skin patches' B/G against the whites) are kept in the
 * features for the readings and tests that show them; the model reads lit and whitesLogY.
 *
 * What ships now (tone-model.json `inputs`) is named there: since round 9 of fairness-cv.ts (a form named before
 * 100 new faces were read, judged on them) "whiteBalancedL": ITA°, the white-balanced ITA° and the L* of the
 * well-exposed face skin at its median and lit bands (skinL), least squares read through 9 cut points (calibrated),
 * fitted on all 315 labelled faces. The other input sets stay for the experiments and the older models' tests.
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { Lab } from './lab.ts';
import { itaOf } from './monk.ts';
import { patchPixels } from './patch-pixels.ts';
import { median } from './robust.ts';
import { whitesOf } from './whites.ts';
import toneModelJson from './tone-model.json' with { type: 'json' };
import { labToLinear, linearToLab } from './lab.ts';

export interface ToneFeatures {
  ita: number;
  /** ITA° of the skin colour white-balanced by the face's whites (skin / whites x WHITES_REFLECTANCE, per linear channel); null: no whites. */
  wbIta?: number | null;
  /** Null: no whites found in this face. */
  whitesLogY: number | null;
  relBG: number | null;
  /** The lit skin against the whites; null: no whites, or too few skin pixels. */
  lit: { logY: number; relBG: number; relRG: number } | null;
  /**
   * L* of the well-exposed face skin (faceSkin pixels, clipped ones and highlights left out, as litSkin): the mean
   * over its median band (L* quantiles 0.4-0.6) and over its lit band (0.75-0.95); null or absent: no whites, or too few pixels.
   */
  skinL?: { q50: number; q90: number } | null;
}

/**
 * The model's input sets (device/tools/fairness-cv.ts names them "q75logs", "current" and "itaWbIta"):
 *   lit             [lit.logY, whitesLogY, lit.relBG, lit.relRG]
 *   patches         [ITA°, whitesLogY, relBG]
 *   whiteBalanced   [ITA°, wbIta]
 *   whiteBalancedL  [ITA°, wbIta, skinL.q50, skinL.q90]   (fairness-cv.ts "itaWbItaLq"; round 9)
 * null: the face has no whites (the ITA°-only fit reads it).
 */
export const TONE_INPUTS = {
  lit: (f: ToneFeatures): number[] | null => (f.lit && f.whitesLogY !== null ? [f.lit.logY, f.whitesLogY, f.lit.relBG, f.lit.relRG] : null),
  patches: (f: ToneFeatures): number[] | null => (f.whitesLogY !== null && f.relBG !== null ? [f.ita, f.whitesLogY, f.relBG] : null),
  whiteBalanced: (f: ToneFeatures): number[] | null => (f.wbIta !== undefined && f.wbIta !== null ? [f.ita, f.wbIta] : null),
  whiteBalancedL: (f: ToneFeatures): number[] | null => (f.wbIta !== undefined && f.wbIta !== null && f.skinL ? [f.ita, f.wbIta, f.skinL.q50, f.skinL.q90] : null),
} as const;
export type ToneInputSet = keyof typeof TONE_INPUTS;

/** The model's inputs, in its order (TONE_INPUTS[model.inputs], "lit" when the model names none); null: no whites. */
export const toneInputs = (f: ToneFeatures, model: Pick<ToneModel, 'inputs'> = TONE_MODEL): number[] | null => TONE_INPUTS[model.inputs ?? 'lit'](f);

/** The whites' assumed reflectance (sclera / teeth, a priori, not fitted). */
export const WHITES_REFLECTANCE = 0.75;

export interface ToneModel {
  /** Which TONE_INPUTS set withWhites weighs; absent: "lit". */
  inputs?: ToneInputSet;
  /** The intercept and one weight per input. */
  withWhites: number[];
  skinOnly: { intercept: number; ita: number };
  /** Ordinal cut points on the withWhites score (9, non-decreasing; see calibrated); absent: the score is rounded. */
  cuts?: number[];
}

/** Built by device/tools/fairness-fit.ts on all labelled faces of tests/fixtures/fairness (`npx tsx device/tools/fairness-fit.ts` writes it). */
export const TONE_MODEL: ToneModel = toneModelJson as ToneModel;

/** Pixels sampled over the face's skin. */
export const FACE_SKIN_PIXELS = 600;
const SHADOW_L = 12;
const SHINE_L = 10;

export function toneFeatures(image: RgbImage, face: Face, skin: Readonly<Lab>): ToneFeatures | null {
  const px = patchPixels(image, face.landmarks, 'faceSkin', FACE_SKIN_PIXELS);
  const read: number[] = [];
  for (let i = 0; i < px.count; i++) if (!px.clipped[i]) read.push(i);
  if (read.length < 30) return null;
  const mL = median(read.map((i) => px.lab[i * 3]));
  const kept = read.filter((i) => px.lab[i * 3] > mL - SHADOW_L && px.lab[i * 3] < mL + SHINE_L);
  let g = 0;
  let b = 0;
  for (const i of kept) {
    g += px.rgb[i * 3 + 1];
    b += px.rgb[i * 3 + 2];
  }
  const whites = whitesOf(image, face, skin);
  // Both read only with the whites (TONE_INPUTS): without them the sort is skipped.
  const exposed = whites ? wellExposed(px, read, mL) : null;
  const lit = exposed ? litSkin(px, exposed) : null;
  const skinRgb = labToLinear(skin);
  return {
    ita: itaOf(skin),
    wbIta: whites ? itaOf(linearToLab(skinRgb.map((v, c) => (v / whites.rgb[c]) * WHITES_REFLECTANCE) as [number, number, number])) : null,
    whitesLogY: whites ? Math.log(whites.y) : null,
    relBG: whites ? Math.log(b / g) - whites.logBG : null,
    lit:
      whites && lit
        ? { logY: Math.log(0.2126 * lit[0] + 0.7152 * lit[1] + 0.0722 * lit[2]), relBG: Math.log(lit[2] / lit[1]) - whites.logBG, relRG: Math.log(lit[0] / lit[1]) - Math.log(whites.rgb[0] / whites.rgb[1]) }
        : null,
    skinL: exposed && exposed.length >= 5 ? { q50: bandL(px, exposed, SKIN_L_BANDS.q50), q90: bandL(px, exposed, SKIN_L_BANDS.q90) } : null,
  };
}

/** Highlights: this much above the median L* and greyer than LIT_CHROMA x the median chroma. */
const LIT_CHROMA = 0.75;
/** The lit band: the pixels between these quantiles of L*. */
const LIT_BAND = [0.65, 0.85] as const;
/** skinL's bands (quantiles of L*): the median band and the lit band (fairness-cv.ts quantileColours q50 and "q90"). */
const SKIN_L_BANDS = { q50: [0.4, 0.6], q90: [0.75, 0.95] } as const;

/** The `read` pixels without highlights (L* > median + SHINE_L and greyer than LIT_CHROMA x the median chroma), darkest first. */
function wellExposed(px: ReturnType<typeof patchPixels>, read: readonly number[], mL: number): number[] {
  const L = (i: number) => px.lab[i * 3];
  const C = (i: number) => Math.hypot(px.lab[i * 3 + 1], px.lab[i * 3 + 2]);
  const mC = median(read.map(C));
  return read.filter((i) => !(L(i) > mL + SHINE_L && C(i) < LIT_CHROMA * mC)).sort((a, b) => L(a) - L(b));
}

/** The mean L* of the sorted pixels between two quantiles. */
function bandL(px: ReturnType<typeof patchPixels>, keep: readonly number[], [q0, q1]: readonly [number, number]): number {
  const from = Math.max(0, Math.floor(q0 * keep.length));
  const to = Math.min(keep.length, Math.ceil(q1 * keep.length));
  let sum = 0;
  for (let k = from; k < to; k++) sum += px.lab[keep[k] * 3];
  return sum / (to - from);
}

/** The lit skin's colour as linear RGB: the mean CIELAB of the lit band of the well-exposed pixels (sorted by L*). */
function litSkin(px: ReturnType<typeof patchPixels>, keep: readonly number[]): [number, number, number] | null {
  const from = Math.max(0, Math.floor(LIT_BAND[0] * keep.length));
  const to = Math.min(keep.length, Math.ceil(LIT_BAND[1] * keep.length));
  if (to - from < 5) return null;
  const sum: Lab = [0, 0, 0];
  for (let k = from; k < to; k++) for (let c = 0; c < 3; c++) sum[c] += px.lab[keep[k] * 3 + c];
  return labToLinear(sum.map((v) => v / (to - from)) as Lab);
}

/**
 * A raw score read through ordinal cut points, as a score that rounds to the level: cut j (0-based)
 * maps to j + 1.5, linear between cuts, slope 1 beyond the first and last. So a score at or above k
 * cuts reads level k + 1, and the session's hysteresis (monk.ts monkHolding) works on it unchanged.
 */
export function calibrated(score: number, cuts: readonly number[]): number {
  if (score < cuts[0]) return 1.5 + (score - cuts[0]);
  for (let j = 0; j + 1 < cuts.length; j++) if (score < cuts[j + 1]) return j + 1.5 + (score - cuts[j]) / (cuts[j + 1] - cuts[j]);
  return cuts.length + 0.5 + (score - cuts[cuts.length - 1]);
}

/** The model's score (a Monk level before rounding). */
export function toneScore(f: ToneFeatures, model: ToneModel = TONE_MODEL): number {
  const x = toneInputs(f, model);
  if (x) {
    const raw = x.reduce((s, v, i) => s + model.withWhites[i + 1] * v, model.withWhites[0]);
    return model.cuts ? calibrated(raw, model.cuts) : raw;
  }
  return model.skinOnly.intercept + model.skinOnly.ita * f.ita;
}

export const monkOfScore = (score: number): number => Math.min(10, Math.max(1, Math.round(score)));
