/**
 * The Monk level from three robust measures of one face, by a small linear model fitted to labelled
 * real photos (device/tools/fairness-fit.ts; `npm run eval:fairness` refits it on each fixed half of
 * the set and reports it on the other half). Why not the swatch nearest in ITA° alone: the same skin
 * photographed brighter or bluer reads a different ITA°; a person judging the tone discounts the light
 * by what else is in the face. The model does that with the face's own whites (whites.ts):
 *
 *   ita         ITA° of the skin colour (skin-sample.ts: cheek, forehead and chin patches, shadowed,
 *               shiny and bearded pixels and patches left out)
 *   whitesLogY  ln of the whites' luminance: brighter whites, a brighter exposure, a lighter-looking skin
 *   relBG       ln(B/G) of the face's skin (faceSkin region: the whole face without eyes, brows, lips
 *               and nostrils; its pixels within [−12, +10] L* of their median, so no shine or beard)
 *               as mean linear RGB, minus that of the whites: the skin's blue-to-green ratio under a
 *               white-balanced light (melanin absorbs blue most); a shadow scales R, G and B alike
 *               and leaves it as it is
 *
 *   score = c0 + c1·ita + c2·whitesLogY + c3·relBG     (whites found)
 *   score = d0 + d1·ita                                (no whites: eyes closed or hidden, no teeth)
 *   Monk  = the score rounded, 1..10
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { Lab } from './lab.ts';
import { itaOf } from './monk.ts';
import { patchPixels } from './patch-pixels.ts';
import { median } from './robust.ts';
import { whitesOf } from './whites.ts';

export interface ToneFeatures {
  ita: number;
  /** Null: no whites found in this face. */
  whitesLogY: number | null;
  relBG: number | null;
}

export interface ToneModel {
  withWhites: { intercept: number; ita: number; whitesLogY: number; relBG: number };
  skinOnly: { intercept: number; ita: number };
}

/**
 * Fitted by device/tools/fairness-fit.ts on all 77 faces of tests/fixtures/fairness (least squares
 * on the label); `npm run eval:fairness` prints the fit and the held-out figures of the same fit
 * made on each half.
 */
export const TONE_MODEL: ToneModel = {
  withWhites: { intercept: 6.59415, ita: -0.0503932, whitesLogY: 0.7433, relBG: -3.38556 },
  skinOnly: { intercept: 6.68294, ita: -0.0500007 },
};

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
  return {
    ita: itaOf(skin),
    whitesLogY: whites ? Math.log(whites.y) : null,
    relBG: whites ? Math.log(b / g) - whites.logBG : null,
  };
}

/** The model's score (a Monk level before rounding). */
export function toneScore(f: ToneFeatures, model: ToneModel = TONE_MODEL): number {
  if (f.whitesLogY !== null && f.relBG !== null) {
    const m = model.withWhites;
    return m.intercept + m.ita * f.ita + m.whitesLogY * f.whitesLogY + m.relBG * f.relBG;
  }
  return model.skinOnly.intercept + model.skinOnly.ita * f.ita;
}

export const monkOfScore = (score: number): number => Math.min(10, Math.max(1, Math.round(score)));
