/** Loads the real face models on the real runtime, as the daemon does, for in-process vision tests. */
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { resolveModel } from '../../models/registry.ts';
import { FaceDetector } from '../../device/vision/detector.ts';
import { FaceMesh } from '../../device/vision/mesh.ts';
import { createTfjsRuntime } from '../../device/vision/runtime/tfjs-runtime.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import type { Box } from '../../device/vision/face.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

export async function loadVision() {
  const runtime = await createTfjsRuntime('auto', quiet);
  const detector = new FaceDetector(await runtime.load(await resolveModel('face-detector')), { minScore: 0.5 });
  const mesh = new FaceMesh(await runtime.load(await resolveModel('face-mesh')));
  return { runtime, detector, mesh };
}

export async function readRgb(packagePath: string): Promise<RgbImage> {
  const file = createRequire(import.meta.url).resolve(packagePath);
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** A window of `image` as its own image, like a camera framed on one shopper. */
export function cropImage(image: RgbImage, rect: Box): RgbImage {
  const x0 = Math.max(0, Math.round(rect.x));
  const y0 = Math.max(0, Math.round(rect.y));
  const x1 = Math.min(image.width, Math.round(rect.x + rect.width));
  const y1 = Math.min(image.height, Math.round(rect.y + rect.height));
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x1) * 3), y * width * 3);
  return { width, height, data };
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greys everything but a box 1.8 face-widths around `face`, so the detector can only find that shopper. */
export function onlyShopper(image: RgbImage, face: Box): RgbImage {
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  const half = (Math.max(face.width, face.height) * 1.8) / 2;
  const data = new Uint8Array(image.data);
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++)
      if (Math.abs(x - cx) > half || Math.abs(y - cy) > half) data.fill(110, (y * image.width + x) * 3, (y * image.width + x) * 3 + 3);
  return { width: image.width, height: image.height, data };
}
