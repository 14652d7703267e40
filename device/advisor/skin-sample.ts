/**
 * One frame's skin measurement: the colour of the shopper's skin from the cheek, forehead and chin
 * patches the mesh places, and the skin metrics, on the camera's (colour-corrected) pixels BEFORE
 * the try-on paints them (the daemon calls it between vision and try-on: daemon/advisor.ts).
 *
 * Per patch (robust statistics in CIELAB):
 *  - pixels rejected: clipped (a channel ≥ 250), specular (L* more than SPECULAR_L above the patch
 *    median AND chroma below SPECULAR_CHROMA of the patch's median: whitish shine), dark (L* more
 *    than DARK_L below the patch median: shadow, stubble, a stray hair, a nostril);
 *  - the patch colour is the mean of the kept pixels in the middle half of their L* (interquartile
 *    mean): neither the lit nor the shaded side pulls it.
 * Per face:
 *  - a patch is dropped when it has fewer than MIN_PIXELS kept pixels, when its L* is more than
 *    PATCH_DARK_L below the lightest patch (a cheek in shadow, a bearded chin) or its chroma below
 *    PATCH_GREY of the patches' median chroma (beard or stubble is greyer than skin);
 *  - the skin colour is the per-channel median of the remaining patches (with four patches, the
 *    mean of the middle two: one patch under another light or in a mis-placed region cannot pull
 *    it), and `spread` the largest ΔE76 of a remaining patch from it (patch disagreement: it lowers
 *    the confidence).
 * Metrics (each 0..1):
 *  - shine     share of T-zone pixels (forehead + nose bridge) that are clipped or specular as above,
 *              judged against the skin colour;
 *  - redness   share of kept skin pixels whose a* is ≥ REDDER_A above the skin's a* (visibly redder
 *              patches: flush, blemishes);
 *  - evenness  1 − (median over kept skin pixels of √((ΔL* ÷ 2)² + Δa*² + Δb*²) from the skin colour) / 20,
 *              clamped: 1 = one even colour; L* counts half because shading is not unevenness;
 *  - underEye  (L* of the cheeks − median L* of the under-eye bands) / 15, clamped: 0 = as light as
 *              the cheeks, 1 = 15 L* darker or more.
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { RegionName } from '../vision/regions.ts';
import { faceGeometry, type FaceGeometry } from './face-shape.ts';
import type { Lab } from './lab.ts';
import { patchPixels, type PatchPixels } from './patch-pixels.ts';
import { median, orderBy } from './robust.ts';
import { toneFeatures, type ToneFeatures } from './tone-estimate.ts';

export const TONE_PATCHES = ['cheekRight', 'cheekLeft', 'forehead', 'chin'] as const satisfies readonly RegionName[];
export type TonePatch = (typeof TONE_PATCHES)[number];

export const SPECULAR_L = 10;
export const SPECULAR_CHROMA = 0.75;
export const DARK_L = 12;
export const MIN_PIXELS = 30;
export const PATCH_DARK_L = 15;
export const PATCH_GREY = 0.5;
export const REDDER_A = 6;
/** Pixels sampled per tone patch, per T-zone region and per under-eye band (cost: skin-sample bench). */
export const TONE_PIXELS = 250;
export const DETAIL_PIXELS = 150;

export interface PatchReading {
  region: TonePatch;
  lab: Lab;
  kept: number;
  /** Why the patch was left out of the skin colour, or null when it counts. */
  dropped: null | 'too few pixels' | 'shadowed or bearded' | 'grey (beard or stubble)';
}

export interface SkinSample {
  /** The skin's CIELAB (D65). */
  lab: Lab;
  /** Largest ΔE76 of a counted patch from `lab`. */
  spread: number;
  patches: PatchReading[];
  shine: number;
  redness: number;
  evenness: number;
  underEye: number;
  geometry: FaceGeometry;
  /** What the Monk level is read from (tone-estimate.ts); null when the face's skin cannot be read. */
  tone: ToneFeatures | null;
}

const chroma = (a: number, b: number): number => Math.hypot(a, b);
const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

interface KeptPatch {
  region: TonePatch;
  pixels: PatchPixels;
  /** Indices of the kept pixels. */
  kept: number[];
  lab: Lab;
}

function robustPatch(region: TonePatch, pixels: PatchPixels): KeptPatch {
  const { lab, clipped, count } = pixels;
  const ls = new Float64Array(count);
  const cs = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    ls[i] = lab[i * 3];
    cs[i] = chroma(lab[i * 3 + 1], lab[i * 3 + 2]);
  }
  const mL = median(ls);
  const mC = median(cs);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    if (clipped[i]) continue;
    if (ls[i] < mL - DARK_L) continue;
    if (ls[i] > mL + SPECULAR_L && cs[i] < SPECULAR_CHROMA * mC) continue;
    kept.push(i);
  }
  const order = orderBy(kept.map((i) => ls[i]));
  const from = Math.floor(order.length * 0.25);
  const to = Math.max(from + 1, Math.ceil(order.length * 0.75));
  const sum: Lab = [0, 0, 0];
  let n = 0;
  for (let k = from; k < to && k < order.length; k++) {
    const i = kept[order[k]];
    sum[0] += lab[i * 3];
    sum[1] += lab[i * 3 + 1];
    sum[2] += lab[i * 3 + 2];
    n++;
  }
  return { region, pixels, kept, lab: n ? [sum[0] / n, sum[1] / n, sum[2] / n] : [NaN, NaN, NaN] };
}

function dropReason(p: KeptPatch, lightest: number, medianChroma: number): PatchReading['dropped'] {
  if (p.kept.length < MIN_PIXELS) return 'too few pixels';
  if (p.lab[0] < lightest - PATCH_DARK_L) return 'shadowed or bearded';
  if (chroma(p.lab[1], p.lab[2]) < PATCH_GREY * medianChroma) return 'grey (beard or stubble)';
  return null;
}

const isSpecular = (l: number, a: number, b: number, skin: Lab): boolean => l > skin[0] + SPECULAR_L && chroma(a, b) < SPECULAR_CHROMA * chroma(skin[1], skin[2]);

function shineOf(image: RgbImage, face: Face, skin: Lab): number {
  let specular = 0;
  let total = 0;
  for (const region of ['forehead', 'noseBridge'] as const) {
    const px = patchPixels(image, face.landmarks, region, DETAIL_PIXELS);
    for (let i = 0; i < px.count; i++) {
      total++;
      if (px.clipped[i] || isSpecular(px.lab[i * 3], px.lab[i * 3 + 1], px.lab[i * 3 + 2], skin)) specular++;
    }
  }
  return total ? specular / total : 0;
}

function underEyeOf(image: RgbImage, face: Face, cheekL: number): number {
  const ls: number[] = [];
  for (const region of ['underEyeRight', 'underEyeLeft'] as const) {
    const px = patchPixels(image, face.landmarks, region, DETAIL_PIXELS);
    for (let i = 0; i < px.count; i++) if (!px.clipped[i]) ls.push(px.lab[i * 3]);
  }
  return ls.length < MIN_PIXELS ? 0 : clamp01((cheekL - median(ls)) / 15);
}

/** The skin of `face` in `image` (the camera's pixels, before any try-on), or null when no patch can be read. */
export function sampleSkin(image: RgbImage, face: Face): SkinSample | null {
  const raw = TONE_PATCHES.map((region) => robustPatch(region, patchPixels(image, face.landmarks, region, TONE_PIXELS)));
  const usable = raw.filter((p) => p.kept.length >= MIN_PIXELS);
  if (usable.length === 0) return null;
  const lightest = Math.max(...usable.map((p) => p.lab[0]));
  const medianChroma = median(usable.map((p) => chroma(p.lab[1], p.lab[2])));
  const readings: PatchReading[] = raw.map((p) => ({ region: p.region, lab: p.lab, kept: p.kept.length, dropped: dropReason(p, lightest, medianChroma) }));
  const counted = raw.filter((_, i) => readings[i].dropped === null);
  const lab: Lab = [0, 1, 2].map((c) => median(counted.map((p) => p.lab[c]))) as Lab;
  const spread = Math.max(...counted.map((p) => Math.hypot(p.lab[0] - lab[0], p.lab[1] - lab[1], p.lab[2] - lab[2])));

  let redder = 0;
  const distances: number[] = [];
  for (const p of counted)
    for (const i of p.kept) {
      const l = p.pixels.lab[i * 3];
      const a = p.pixels.lab[i * 3 + 1];
      const b = p.pixels.lab[i * 3 + 2];
      if (a >= lab[1] + REDDER_A) redder++;
      distances.push(Math.hypot((l - lab[0]) / 2, a - lab[1], b - lab[2]));
    }
  const cheeks = counted.filter((p) => p.region === 'cheekRight' || p.region === 'cheekLeft');
  const cheekL = cheeks.length ? cheeks.reduce((s, p) => s + p.lab[0], 0) / cheeks.length : lab[0];
  return {
    lab,
    spread,
    patches: readings,
    shine: shineOf(image, face, lab),
    redness: distances.length ? redder / distances.length : 0,
    evenness: clamp01(1 - median(distances) / 20),
    underEye: underEyeOf(image, face, cheekL),
    geometry: faceGeometry(face.landmarks),
    tone: toneFeatures(image, face, lab),
  };
}
