/**
 * The faces the reference GAN learns from and is judged on: every face the daemon's detector finds
 * in the photos that ship in npm packages, framed like the mirror's camera (a window about two
 * faces wide) and meshed there by the daemon's tracker. The split is by photo, fixed in
 * config.json: held-out photos are never rendered into the training folder.
 *
 * One sample = one face, one colour jitter of the photo (brightness, contrast, white balance:
 * store light varies) and one random look from the demo catalog drawn by the daemon's try-on
 * stage (createTryOnStage with the real occlusion gate); the bare and rendered frames are cut to
 * the aligned crop the device stage uses (device/gan/align.ts) and the makeup coverage taken from
 * the pair (device/gan/coverage.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import type { Frame } from '../../../device/core/frame.ts';
import { bundledCatalog, CatalogSlot, servingCatalog, type Category } from '../../../device/tryon/catalog.ts';
import { createOcclusionGate } from '../../../device/tryon/occlusion/index.ts';
import type { AppliedProduct } from '../../../device/tryon/render/renderer.ts';
import { createTryOnStage } from '../../../device/tryon/tryon-stage.ts';
import { FaceDetector } from '../../../device/vision/detector.ts';
import type { Face } from '../../../device/vision/face.ts';
import { FaceTracker } from '../../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../../device/vision/image-ops.ts';
import { FaceMesh } from '../../../device/vision/mesh.ts';
import { createTfjsRuntime } from '../../../device/vision/runtime/tfjs-runtime.ts';
import { resolveModel } from '../../registry.ts';
import { alignFace, warpPlaneToCrop, warpToCrop } from '../../../device/gan/align.ts';
import { newDrawnLight } from '../../../device/tryon/render/drawn-light.ts';
import { makeupCoverage } from '../../../device/gan/coverage.ts';

/** Categories a random look draws from (hair colour needs the person segmentation: left out). */
const LOOK_CATEGORIES: Category[] = ['lipstick', 'lipLiner', 'eyeshadow', 'eyeliner', 'mascara', 'brows', 'blush', 'contour', 'bronzer', 'highlighter', 'foundation', 'concealer'];

export interface PhotoFace {
  /** `<photo basename>-<index>` */
  id: string;
  photo: string;
  image: RgbImage;
  face: Face;
}

export interface Sample {
  bare: Uint8Array;
  render: Uint8Array;
  coverage: Float32Array;
  /** The light the finishes drew, crop space (linear luminance added per pixel; device/tryon/render/drawn-light.ts). */
  light: Float32Array;
  productIds: string[];
}


const quiet = { info: () => {}, warn: () => {}, error: () => {} };

export async function loadVision(): Promise<{ detector: FaceDetector; mesh: FaceMesh }> {
  const runtime = await createTfjsRuntime('auto', quiet);
  const detector = new FaceDetector(await runtime.load(await resolveModel('face-detector')), { minScore: 0.5 });
  const mesh = new FaceMesh(await runtime.load(await resolveModel('face-mesh')));
  return { detector, mesh };
}

export async function readPackagePhoto(packagePath: string): Promise<RgbImage> {
  // Some packages export no assets: resolve the package folder, then the file in it.
  const [scope, name, ...rest] = packagePath.split('/');
  const pkg = `${scope}/${name}`;
  const roots = createRequire(import.meta.url).resolve.paths(pkg) ?? [];
  const dir = roots.map((r) => path.join(r, pkg)).find((d) => existsSync(path.join(d, 'package.json')));
  if (!dir) throw new Error(`package ${pkg} is not installed`);
  const file = path.join(dir, ...rest);
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

function cut(image: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(image.width, Math.round(x + w));
  const y1 = Math.min(image.height, Math.round(y + h));
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) data.set(image.data.subarray(((y0 + r) * image.width + x0) * 3, ((y0 + r) * image.width + x1) * 3), r * width * 3);
  return { width, height, data };
}

/**
 * Every face of a photo big enough for the crop (`minFace` px wide), each in its own window,
 * meshed by a fresh tracker there (as the mirror would see that shopper alone).
 */
export async function facesOf(vision: { detector: FaceDetector; mesh: FaceMesh }, packagePath: string, minFace: number): Promise<PhotoFace[]> {
  const photo = await readPackagePhoto(packagePath);
  const detections = await vision.detector.detect(photo);
  const out: PhotoFace[] = [];
  const name = path.basename(packagePath, path.extname(packagePath));
  detections.sort((p, q) => p.box.x - q.box.x || p.box.y - q.box.y);
  for (const d of detections) {
    if (d.box.width < minFace) continue;
    const side = d.box.width * 2;
    const image = cut(photo, d.box.x + d.box.width / 2 - side / 2, d.box.y + d.box.height / 2 - side / 2, side, side);
    const { faces } = await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(image);
    const face = faces[0];
    if (!face) continue;
    // The window's own face, not a neighbour reaching into it.
    const cx = face.box.x + face.box.width / 2;
    if (Math.abs(cx - image.width / 2) > image.width * 0.2) continue;
    out.push({ id: `${name}-${out.length}`, photo: packagePath, image, face });
  }
  return out;
}

/** Brightness, contrast and white balance of a store's light, applied to the whole window. */
export function colourJitter(image: RgbImage, random: () => number, strength = 1): Uint8Array {
  const gain = 1 + (random() - 0.5) * 0.3 * strength;
  const contrast = 1 + (random() - 0.5) * 0.3 * strength;
  const warm = (random() - 0.5) * 16 * strength;
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < image.data.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const shift = c === 0 ? warm : c === 2 ? -warm : 0;
      const v = ((image.data[i + c] - 128) * contrast + 128) * gain + shift;
      out[i + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return out;
}

/** A random look: 1 to 4 products of different categories, random shade, intensity 0.6..1. */
export function randomLook(random: () => number): AppliedProduct[] {
  const catalog = bundledCatalog();
  const categories = [...LOOK_CATEGORIES];
  const count = 1 + Math.floor(random() * 4);
  const items: AppliedProduct[] = [];
  // Lips are the product shoppers try most: every other look has one.
  if (random() < 0.5) {
    categories.splice(categories.indexOf('lipstick'), 1);
    categories.unshift('lipstick');
  } else categories.sort(() => random() - 0.5);
  for (const category of categories.slice(0, count)) {
    const products = catalog.products.filter((p) => p.category === category);
    if (!products.length) continue;
    const product = products[Math.floor(random() * products.length)];
    const shade = product.shades[Math.floor(random() * product.shades.length)];
    items.push({ product, shade, intensity: 0.6 + 0.4 * random() });
  }
  return items;
}

/**
 * Renders a look onto a copy of `pixels` through the daemon's try-on stage; returns the rendered
 * frame, the ids drawn and the light the finishes drew (frame-sized, as the GAN stage records it).
 */
export function renderLook(pixels: Uint8Array, width: number, height: number, face: Face, items: AppliedProduct[]): { frame: Frame; applied: string[]; light: Float32Array } {
  const frame: Frame = { id: 1, capturedAt: 0, width, height, format: 'rgb24', data: Buffer.from(pixels) };
  const light = new Float32Array(width * height);
  const drawnLight = newDrawnLight();
  drawnLight.plane = light;
  const stage = createTryOnStage({
    selection: () => ({ items, compare: null, chosen: true }),
    gate: createOcclusionGate,
    catalog: new CatalogSlot(servingCatalog(bundledCatalog(), 'bundled')),
    drawnLight,
  });
  const applied = stage(frame, [face]);
  return { frame, applied, light };
}

/** One training/evaluation sample of a face: jittered photo, random look, aligned crops and coverage. */
export function makeSample(pf: PhotoFace, size: number, random: () => number, jitter = 1): Sample {
  const { width, height } = pf.image;
  const pixels = jitter > 0 ? colourJitter(pf.image, random, jitter) : new Uint8Array(pf.image.data);
  const items = randomLook(random);
  const { frame, applied, light } = renderLook(pixels, width, height, pf.face, items);
  const t = alignFace(pf.face.landmarks, size);
  const bare = warpToCrop({ width, height, data: pixels }, t, size);
  const render = warpToCrop(frame, t, size);
  return { bare, render, coverage: makeupCoverage(bare, render, size), light: warpPlaneToCrop(light, width, height, t, size), productIds: applied };
}
