/**
 * An experiment of the fairness evaluation, not the mirror's reading: the skin's ITA° with the
 * photo's exposure partly normalised by whites in the face (eye whites and teeth), to ask whether
 * exposure differences between photos are what scatters the tone reading.
 *
 *   whites   eye openings (mesh loops): unclipped pixels whose chroma is under 0.7 x the skin's, the
 *            brightest quarter of them by L* (the sclera, not the iris, lashes or lids); the mouth
 *            opening: the brighter half by L* (teeth, when shown). Their mean L* each, as luminance Y;
 *            the reference is the geometric mean of the two (or the one present).
 *   gain     (REFERENCE_Y / reference)^ALPHA, applied to the skin's luminance (L* recomputed) and to
 *            b* by its cube root (CIELAB's own response to a luminance gain).
 * ALPHA = 0.25 (a partial correction: the whites are ~100 pixels per eye at the evaluation's photo
 * size, too noisy to trust fully) was chosen in an exploration that looked at both halves, so its
 * figures are not a held-out test of ALPHA; REFERENCE_Y only shifts every ITA° alike (a remapping
 * absorbs it).
 */
import type { Lab } from '../advisor/lab.ts';
import { patchPixels } from '../advisor/patch-pixels.ts';
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';

export const ALPHA = 0.25;
/** Luminance of a typical white reference in these photos (L* 50). */
const REFERENCE_Y = ((50 + 16) / 116) ** 3;

const yOfL = (l: number): number => (l > 8 ? ((l + 16) / 116) ** 3 : l / 903.3);
const lOfY = (y: number): number => (y > 0.008856 ? 116 * Math.cbrt(y) - 16 : 903.3 * y);

function meanTopL(ls: number[], share: number): number | null {
  if (ls.length < 5) return null;
  const sorted = [...ls].sort((a, b) => b - a);
  const top = sorted.slice(0, Math.max(1, Math.round(sorted.length * share)));
  return top.reduce((s, v) => s + v, 0) / top.length;
}

/** Luminance of the face's whites (eye whites, teeth), or null when neither can be read. */
export function whitesY(image: RgbImage, face: Face, skin: Readonly<Lab>): number | null {
  const skinChroma = Math.hypot(skin[1], skin[2]);
  const eyes: number[] = [];
  for (const region of ['eyeRight', 'eyeLeft'] as const) {
    const px = patchPixels(image, face.landmarks, region, 400);
    for (let i = 0; i < px.count; i++)
      if (!px.clipped[i] && Math.hypot(px.lab[i * 3 + 1], px.lab[i * 3 + 2]) < 0.7 * skinChroma) eyes.push(px.lab[i * 3]);
  }
  const mouth = patchPixels(image, face.landmarks, 'mouthOpening', 400);
  const teeth: number[] = [];
  for (let i = 0; i < mouth.count; i++) if (!mouth.clipped[i]) teeth.push(mouth.lab[i * 3]);
  const found = [meanTopL(eyes, 0.25), meanTopL(teeth, 0.5)].flatMap((l) => (l === null ? [] : [yOfL(l)]));
  if (found.length === 0) return null;
  return Math.exp(found.reduce((s, y) => s + Math.log(y), 0) / found.length);
}

/** The skin's ITA° after the partial exposure normalisation by `whites` (luminance). */
export function whitesNormalisedIta(skin: Readonly<Lab>, whites: number): number {
  const gain = (REFERENCE_Y / whites) ** ALPHA;
  const l = lOfY(yOfL(skin[0]) * gain);
  const b = skin[2] * Math.cbrt(gain);
  return (Math.atan2(l - 50, b) * 180) / Math.PI;
}
