/**
 * The robustness scenes a tone-model candidate must pass before fairness-cv.ts may choose it: the same
 * scenes the advisor's tests put the shipped model through, measured once with the mirror's own code
 * (real tracker, real mesh) so any candidate's fit can be read on them.
 *
 *  - side shadow (tests/advisor/analysis.test.ts): face-api's sample2 and sample6 in the shopper
 *    window, the image-left half of the face (left of the nose bridge) at 35 % of its light; the
 *    reading must stay within ±1 MST of the clean one;
 *  - store light (tests/advisor/cast.test.ts): the same two faces beside a ColorChecker, the scene
 *    rendered under 3000 K and 6500 K for a camera balanced at 5000 K, the profile solved from the
 *    chart in that photo applied as the daemon applies it; the reading must stay within ±1 MST of the
 *    neutral (corrected) scene's;
 *  - exposure and light colour (tests/advisor/tone-estimate.test.ts; added in round 5, after the
 *    round-4 choice read sample6 two levels deeper at 0.6x the light): the same two shopper windows
 *    with every pixel scaled in linear light by 0.6 (a dimmer store, no profile) and by (0.9, 1, 1.25)
 *    (a bluer light, no profile), the clean window's mesh; within ±1 MST of the clean reading;
 *  - demo clip: every frame of device/assets/demo-clip through one tracker, as the daemon does; the
 *    per-frame readings must span at most 1 MST level (the session's window median and hysteresis
 *    make the reading it sends steady; a candidate whose single frames jump by 2 would lean on them).
 *
 * A scene is a reference measurement and the measurements that must read within ±`spread` of it.
 */
import path from 'node:path';
import { besideChart, castScene, decode, demoClipFrames, pngFile, sceneSquare } from '../../tests/advisor/support.ts';
import { cropImage, loadVision, readRgb } from '../../tests/helpers/vision.ts';
import * as colour from '../tryon/colour.ts';
import type { Face } from '../vision/face.ts';
import { FaceTracker, regionFromDetection, regionFromLandmarks } from '../vision/face-tracker.ts';
import { regionBounds, type RgbImage } from '../vision/image-ops.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

export type Landmarks = Face['landmarks'];

export interface Scene<M> {
  name: string;
  /** The reading the others are compared with; null: the candidate is compared among the others only (demo clip). */
  reference: M | null;
  others: M[];
}

type Vision = Awaited<ReturnType<typeof loadVision>>;
const PHOTOS = ['@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg'];

/** The shopper window around the photo's largest face (as tests/helpers/tryon.ts's shopperFrom). */
async function shopperWindow(vision: Vision, photo: string): Promise<{ image: RgbImage; face: Face }> {
  const full = await readRgb(photo);
  const largest = (await vision.detector.detect(full))[0];
  const firstMesh = largest && (await vision.mesh.estimate(full, regionFromDetection(largest)));
  if (!firstMesh) throw new Error(`no face in ${photo}`);
  const box = regionBounds(regionFromLandmarks(firstMesh.landmarks));
  const side = box.width * 1.6;
  const image = cropImage(full, { x: box.x + box.width / 2 - side / 2, y: box.y + box.height / 2 - side * 0.45, width: side, height: side });
  const face = await faceIn(vision, image);
  return { image, face };
}

async function faceIn(vision: Vision, image: RgbImage): Promise<Face> {
  const face = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(image)).faces[0];
  if (!face) throw new Error('no face found');
  return face;
}

/** The image-left half of the face (left of the nose bridge, landmark 168) at 35 % of its light. */
export function sideShadow(image: RgbImage, lm: Landmarks): RgbImage {
  const out = { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  const noseX = lm[168][0];
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < Math.floor(noseX); x++) {
      const o = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) out.data[o + c] = Math.round(255 * (0.35 * (image.data[o + c] / 255) ** 2.2) ** (1 / 2.2));
    }
  return out;
}

/** Every pixel scaled per channel in linear light, re-encoded to 8-bit sRGB (as tone-estimate.test.ts). */
export function lit(image: RgbImage, gains: [number, number, number]): RgbImage {
  const encode = (v: number) => Math.round(255 * Math.min(1, v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055));
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = encode(SRGB_TO_LINEAR[image.data[i]] * gains[i % 3]);
  return { width: image.width, height: image.height, data };
}

/** Every scene, each measurement made by `measure` (the candidate features' reader) on the mirror's mesh. */
export async function robustnessScenes<M>(measure: (image: RgbImage, lm: Landmarks) => M | null): Promise<Array<Scene<M>>> {
  const vision = await loadVision();
  const scenes: Array<Scene<M>> = [];
  const must = (m: M | null, what: string): M => {
    if (m === null) throw new Error(`robustness scene ${what}: no skin read`);
    return m;
  };
  for (const photo of PHOTOS) {
    const name = path.basename(photo, '.jpg');
    const { image, face } = await shopperWindow(vision, photo);
    const clean = must(measure(image, face.landmarks), name);
    scenes.push({ name: `${name} side shadow`, reference: clean, others: [must(measure(sideShadow(image, face.landmarks), face.landmarks), `${name} shadow`)] });
    scenes.push({
      name: `${name} 0.6x light / bluer light`,
      reference: clean,
      others: [must(measure(lit(image, [0.6, 0.6, 0.6]), face.landmarks), `${name} 0.6x`), must(measure(lit(image, [0.9, 1, 1.25]), face.landmarks), `${name} bluer`)],
    });
    const background = await pngFile(besideChart(await sceneSquare(image)), 'shopper-and-chart');
    const neutral = (await castScene(background, undefined)).corrected;
    // The scene's geometry is the same in every render: the neutral scene's mesh serves the cast ones (as cast.test.ts).
    const lm = (await faceIn(vision, neutral)).landmarks;
    const others: M[] = [];
    for (const scene of [3000, 6500]) others.push(must(measure((await castScene(background, { scene, camera: 5000 })).corrected, lm), `${name} ${scene} K`));
    scenes.push({ name: `${name} 3000 K / 6500 K corrected`, reference: must(measure(neutral, lm), `${name} neutral`), others });
  }
  const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
  const frames: M[] = [];
  for (const file of demoClipFrames()) {
    const image = await decode(file);
    const face = (await tracker.process(image)).faces[0];
    const m = face ? measure(image, face.landmarks) : null;
    if (m) frames.push(m);
  }
  if (frames.length < 10) throw new Error(`demo clip: only ${frames.length} frames read`);
  scenes.push({ name: 'demo clip (every frame)', reference: null, others: frames });
  return scenes;
}

/**
 * The scenes `level` (a candidate's Monk level for a measurement) fails: a reading more than 1 level
 * from its reference, or, without a reference, readings spanning more than 1 level.
 */
export function failedScenes<M>(scenes: ReadonlyArray<Scene<M>>, level: (m: M) => number): string[] {
  const failed: string[] = [];
  for (const s of scenes) {
    const read = s.others.map(level);
    if (s.reference !== null) {
      const ref = level(s.reference);
      if (read.some((r) => Math.abs(r - ref) > 1)) failed.push(`${s.name} (${ref} -> ${read.join('/')})`);
    } else if (Math.max(...read) - Math.min(...read) > 1) failed.push(`${s.name} (${Math.min(...read)}..${Math.max(...read)})`);
  }
  return failed;
}
