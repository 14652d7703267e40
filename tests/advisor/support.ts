/** Advisor test helpers: real photos, the real tracker, and scenes for the colour-cast tests. */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEMO_CLIP } from '../../device/source/index.ts';
import type { Face } from '../../device/vision/face.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { createColourCorrector } from '../../calibration/colour/apply.ts';
import { calibrateColour, type ColourCalibration } from '../../calibration/colour/calibrate.ts';
import { CORNER_PATCH_CENTRES } from '../../calibration/colour/corners.ts';
import { profileFromFit } from '../../calibration/colour/profile.ts';
import { fitHomography, mapPoint, type Point } from '../../calibration/homography.ts';
import { renderChartPhoto, type Distortion } from '../calibration/chart-render.ts';
import type { loadVision } from '../helpers/vision.ts';

export type Vision = Awaited<ReturnType<typeof loadVision>>;

/** The shopper (faces[0]) as the daemon's tracker finds it on a fresh track. */
export async function faceIn(vision: Vision, image: RgbImage): Promise<Face> {
  const face = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(image)).faces[0];
  if (!face) throw new Error('no face found');
  return face;
}

export async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** The bundled demo clip's frames, in order. */
export const demoClipFrames = (): string[] =>
  readdirSync(DEMO_CLIP)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => path.join(DEMO_CLIP, f));

/** `image` written as a PNG in a temp folder (chart-render reads its background from a file). */
export async function pngFile(image: RgbImage, name: string): Promise<string> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'advisor-')), `${name}.png`);
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);
  return file;
}

/** `shopper` on the left of a mid-grey canvas twice as wide: the right half is free for a chart. */
export function besideChart(shopper: RgbImage): RgbImage {
  const width = shopper.width * 2;
  const data = new Uint8Array(width * shopper.height * 3).fill(120);
  for (let y = 0; y < shopper.height; y++) data.set(shopper.data.subarray(y * shopper.width * 3, (y + 1) * shopper.width * 3), y * width * 3);
  return { width, height: shopper.height, data };
}

/** A copy of an image (the analysis never writes, but the tests paint on copies). */
export const copyImage = (image: RgbImage): RgbImage => ({ width: image.width, height: image.height, data: new Uint8Array(image.data) });

/** The shopper square's side in the cast scenes: the shopper on the left of a 2·SIDE x SIDE canvas, the chart on the right. */
export const SCENE_SIDE = 360;

/** The shopper window scaled to SCENE_SIDE x SCENE_SIDE. */
export async function sceneSquare(image: RgbImage): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(SCENE_SIDE, SCENE_SIDE)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

// The chart on the right half of the canvas (the shopper is on the left).
const CHART: Distortion['corners'] = [
  [SCENE_SIDE + 40, 90],
  [2 * SCENE_SIDE - 30, 95],
  [2 * SCENE_SIDE - 35, 270],
  [SCENE_SIDE + 45, 265],
];
const BODY: Point[] = [
  [-0.3, -0.3],
  [6.3, -0.3],
  [6.3, 4.3],
  [-0.3, 4.3],
];

/**
 * The shopper beside a chart (`background`, from besideChart) photographed under `cast` (none:
 * neutral): the raw photo, the same corrected by the profile solved from its own chart, and the fit.
 */
export async function castScene(background: string, cast: Distortion['cast'] | undefined): Promise<{ raw: RgbImage; corrected: RgbImage; fit: ColourCalibration['fit'] }> {
  const { image } = await renderChartPhoto({ corners: CHART, size: { width: 2 * SCENE_SIDE, height: SCENE_SIDE }, exposure: 0.6, noise: 2, jpeg: 90, ...(cast ? { cast } : {}) }, background);
  const corners = CORNER_PATCH_CENTRES.map((p) => mapPoint(fitHomography(BODY, CHART)!, p));
  const { fit } = calibrateColour(image, { corners });
  const corrected: RgbImage = { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  createColourCorrector(profileFromFit(fit, 'test-camera')).apply(corrected.data);
  return { raw: image, corrected, fit };
}
