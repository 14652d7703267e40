/** Advisor test helpers: real photos, the real tracker, and scenes for the colour-cast tests. */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEMO_CLIP } from '../../device/source/index.ts';
import type { Face } from '../../device/vision/face.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
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
