/**
 * The whites in a face (eye whites, teeth): the reference in the picture itself for how bright and
 * how blue the light on the face is, whatever the camera's exposure and white balance did.
 *
 *   eye whites  eye openings (mesh loops): unclipped pixels whose chroma is under 0.7 x the skin's,
 *               the brightest quarter of them by L* (the sclera, not the iris, lashes or lids);
 *   teeth       the mouth opening: its brighter half by L* (teeth, when shown; lips closed leave
 *               too few pixels and no teeth reading).
 * Luminance: the geometric mean of the two groups' mean linear Y (or the one present).
 * Colour: log(B / G) of the pooled pixels' mean linear RGB (0 for a neutral white).
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { Lab } from './lab.ts';
import { patchPixels, type PatchPixels } from './patch-pixels.ts';

export interface Whites {
  /** Mean linear luminance Y (0..1). */
  y: number;
  /** ln(B / G) of the whites' mean linear RGB. */
  logBG: number;
  /** The whites' mean linear R, G, B (0..1). */
  rgb: [number, number, number];
}

/** A group needs this many pixels to count (a closed mouth, a narrow eye leave fewer). */
const MIN_GROUP = 5;

/** The brightest `share` of the pixels `keep` accepts, by L*: their indices. */
function brightest(px: PatchPixels, share: number, keep: (i: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < px.count; i++) if (!px.clipped[i] && keep(i)) idx.push(i);
  if (idx.length < MIN_GROUP) return [];
  idx.sort((a, b) => px.lab[b * 3] - px.lab[a * 3]);
  return idx.slice(0, Math.max(MIN_GROUP, Math.round(idx.length * share)));
}

const lumaOf = (px: PatchPixels, i: number): number => 0.2126 * px.rgb[i * 3] + 0.7152 * px.rgb[i * 3 + 1] + 0.0722 * px.rgb[i * 3 + 2];

/** The face's whites, or null when neither the eye whites nor the teeth can be read. */
export function whitesOf(image: RgbImage, face: Face, skin: Readonly<Lab>): Whites | null {
  const skinChroma = Math.hypot(skin[1], skin[2]);
  const groups: Array<{ px: PatchPixels; idx: number[] }> = [];
  const eyes = (['eyeRight', 'eyeLeft'] as const).map((region) => patchPixels(image, face.landmarks, region, 400));
  // One eye group from both openings: concatenated so the brightest quarter is taken over both.
  const both: PatchPixels = {
    lab: Float32Array.from([...eyes[0].lab, ...eyes[1].lab]),
    rgb: Float32Array.from([...eyes[0].rgb, ...eyes[1].rgb]),
    clipped: Uint8Array.from([...eyes[0].clipped, ...eyes[1].clipped]),
    x: Uint16Array.from([...eyes[0].x, ...eyes[1].x]),
    count: eyes[0].count + eyes[1].count,
  };
  groups.push({ px: both, idx: brightest(both, 0.25, (i) => Math.hypot(both.lab[i * 3 + 1], both.lab[i * 3 + 2]) < 0.7 * skinChroma) });
  const mouth = patchPixels(image, face.landmarks, 'mouthOpening', 400);
  groups.push({ px: mouth, idx: brightest(mouth, 0.5, () => true) });
  const found = groups.filter((g) => g.idx.length > 0);
  if (found.length === 0) return null;
  let logY = 0;
  const sum = [0, 0, 0];
  for (const { px, idx } of found) {
    logY += Math.log(idx.reduce((s, i) => s + lumaOf(px, i), 0) / idx.length) / found.length;
    for (const i of idx) for (let c = 0; c < 3; c++) sum[c] += px.rgb[i * 3 + c];
  }
  const n = found.reduce((s, g) => s + g.idx.length, 0);
  return { y: Math.exp(logY), logBG: Math.log(sum[2] / sum[1]), rgb: [sum[0] / n, sum[1] / n, sum[2] / n] };
}
