/**
 * Try-on test helpers: a shopper framed from a real photo with its real mesh (the daemon's tracker),
 * catalog-shaped products for every category, and PNG output under test-artifacts/tryon/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { hexToLab } from '../../device/tryon/colour.ts';
import { ProductSchema, type Category, type Finish } from '../../device/tryon/catalog/schema.ts';
import type { AppliedProduct } from '../../device/tryon/render/renderer.ts';
import type { Frame } from '../../device/core/frame.ts';
import { Kernels } from '../../device/tryon/simd/kernels.ts';
import type { Face } from '../../device/vision/face.ts';
import { FaceTracker, regionFromDetection, regionFromLandmarks } from '../../device/vision/face-tracker.ts';
import { regionBounds, type RgbImage } from '../../device/vision/image-ops.ts';
import { repoRoot } from './daemon.ts';
import { cropImage, loadVision, readRgb } from './vision.ts';

export const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'tryon');

export interface Shopper {
  name: string;
  image: RgbImage;
  face: Face;
}

type Vision = Awaited<ReturnType<typeof loadVision>>;

/** A window about three faces wide around the photo's first face, meshed again in the window (as the mirror sees one shopper). */
export async function shopperFrom(vision: Vision, packagePath: string): Promise<Shopper> {
  const photo = await readRgb(packagePath);
  // The photo's largest face (the detector lists faces largest first; the tracker's shopper rule
  // also weighs centrality), meshed as a new track starts: on the detection's crop, then on the
  // crop the mesh's own points give.
  const largest = (await vision.detector.detect(photo))[0];
  const firstMesh = largest && (await vision.mesh.estimate(photo, regionFromDetection(largest)));
  const first = firstMesh && { box: regionBounds(regionFromLandmarks(firstMesh.landmarks)) };
  if (!first) throw new Error(`no face in ${packagePath}`);
  const side = first.box.width * 1.6;
  const image = cropImage(photo, { x: first.box.x + first.box.width / 2 - side / 2, y: first.box.y + first.box.height / 2 - side * 0.45, width: side, height: side });
  const face = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(image)).faces[0];
  if (!face) throw new Error(`no face in the window of ${packagePath}`);
  return { name: path.basename(packagePath, '.jpg'), image, face };
}

export const frameOf = (image: RgbImage, id = 1): Frame => ({ id, capturedAt: 0, width: image.width, height: image.height, format: 'rgb24', data: Buffer.from(image.data) });

/** A catalog-valid product of `category` with one shade (validated by the catalog's own schema). */
export function product(category: Category, hex: string, finish: Finish, options: { opacity?: number; style?: Record<string, unknown>; intensity?: number } = {}): AppliedProduct {
  const lab = hexToLab(hex);
  const p = ProductSchema.parse({
    id: `test-${category}-${finish}`,
    brand: 'Test',
    line: 'Test',
    name: `${category} ${finish}`,
    category,
    sku: 'T-1',
    price: { amount: 1, currency: 'EUR' },
    shades: [{ id: 's1', name: hex, hex, lab, opacity: options.opacity ?? 0.6, finish, ...(options.style ? { style: options.style } : {}) }],
  });
  return { product: p, shade: p.shades[0], intensity: options.intensity ?? 1 };
}

export async function savePng(name: string, image: { width: number; height: number; data: Uint8Array }): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);
  return file;
}

/** SIMD kernels that count their calls (by kernel): a test of a SIMD path must see its kernel run. */
export function countingKernels(): { kernels: Kernels; calls: (kernel?: keyof Kernels['exports']) => number } {
  const kernels = new Kernels();
  const counts = new Map<string, number>();
  const inner = kernels.exports as unknown as Record<string, unknown>;
  const counted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inner))
    counted[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => {
            counts.set(name, (counts.get(name) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown)(...args);
          }
        : value;
  (kernels as { exports: unknown }).exports = counted;
  return { kernels, calls: (kernel = 'applyGains') => counts.get(kernel) ?? 0 };
}
