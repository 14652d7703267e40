/** Shared by the occlusion tests: framing a shopper from a real photo, and ΔE2000 inside polygons. */
import path from 'node:path';
import { converter, differenceCiede2000 } from 'culori';
import { bundledCatalog, CatalogSlot, parseCatalog, servingCatalog } from '../../device/tryon/catalog.ts';
import type { Frame } from '../../device/core/frame.ts';
import type { Box, Face } from '../../device/vision/face.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { cropImage, type loadVision, onlyShopper, readRgb } from '../helpers/vision.ts';
import { shopperWindow } from '../vision/transform.ts';

export type Poly = Array<[number, number]>;

/** The bundled catalog's default lipstick, recoloured to a saturated blue that no mouth, tooth or skin is near. */
export const STRONG_PRODUCT = 'lumiere-rouge-satin';
const STRONG_HEX = '#1060e0';

/** A serving catalog whose default is that strong lipstick at full opacity (validated like any catalog). */
export function strongLipstickSlot(): CatalogSlot {
  const catalog = structuredClone(bundledCatalog());
  catalog.default = { productId: STRONG_PRODUCT, shadeId: 'ruby' };
  const shade = catalog.products.find((p) => p.id === STRONG_PRODUCT)!.shades.find((s) => s.id === 'ruby')!;
  const lab = converter('lab65')(STRONG_HEX)!;
  Object.assign(shade, { hex: STRONG_HEX, lab: [lab.l, lab.a, lab.b].map((v) => Math.round(v * 100) / 100), opacity: 1 });
  return new CatalogSlot(servingCatalog(parseCatalog(JSON.stringify(catalog))));
}

export interface Fixture {
  /** `lips`: hand-annotated visible lip surface, where the mesh's lip band cannot be trusted to lie on lip. */
  mouths: Array<{ file: string; faceBox: Box; what: string; interior: Poly[]; lips?: Poly[]; tongueOut?: boolean }>;
  fingers: Array<{ source: string; polygon: Poly; target: { file: string; faceBox: Box; offset: [number, number] }; what: string }>;
  eyes: Array<{ file: string; faceBox: Box; what: string; eyeball: Poly[] }>;
}

export interface FramedShopper {
  frame: Frame;
  faces: Face[];
  /** Where the frame's (0, 0) lies in the original photo. */
  origin: [number, number];
}

/** A fixture's photo: a package path (the face-api demo photos) or a path in this repo (tests/fixtures/photos). */
const photoPath = (file: string): string => (file.startsWith('tests/') ? path.join(repoRoot, file) : file);

/**
 * A camera-like frame of one shopper cut from a photo (as regions.test.ts frames them), with the
 * tracked face. Everyone else is greyed out unless `bystanders` is set (then the shopper must be
 * the tracker's first face: the one the try-on stage draws on).
 */
export async function framedShopper(
  vision: Awaited<ReturnType<typeof loadVision>>,
  file: string,
  faceBox: Box,
  edit?: (image: RgbImage) => RgbImage,
  bystanders = false,
): Promise<FramedShopper> {
  let image = await readRgb(photoPath(file));
  if (edit) image = edit(image);
  const window = shopperWindow(faceBox);
  const x0 = Math.max(0, Math.round(window.x));
  const y0 = Math.max(0, Math.round(window.y));
  const box = { ...faceBox, x: faceBox.x - x0, y: faceBox.y - y0 };
  const crop = bystanders ? cropImage(image, window) : onlyShopper(cropImage(image, window), box);
  const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
  const { faces } = await tracker.process(crop);
  if (bystanders ? !faces[0] || !covers(faces[0].box, box) : faces.length !== 1) throw new Error(`${file}: the shopper is not the tracked face (${faces.length} faces)`);
  const frame: Frame = { id: 1, capturedAt: 0, width: crop.width, height: crop.height, format: 'rgb24', data: Buffer.from(crop.data) };
  return { frame, faces, origin: [x0, y0] };
}

/** `face`'s box holds the centre of `box`. */
const covers = (face: Box, box: Box): boolean => {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return cx > face.x && cx < face.x + face.width && cy > face.y && cy < face.y + face.height;
};

/** Photo polygons moved into frame coordinates. */
export const shift = (polys: Poly[], [x0, y0]: [number, number]): Poly[] => polys.map((p) => p.map(([x, y]): [number, number] => [x - x0, y - y0]));

export function inside(polys: Poly[], x: number, y: number): boolean {
  let hit = false;
  for (const p of polys)
    for (let i = 0, j = p.length - 1; i < p.length; j = i++)
      if (p[i][1] > y !== p[j][1] > y && x < p[i][0] + ((y - p[i][1]) / (p[j][1] - p[i][1])) * (p[j][0] - p[i][0])) hit = !hit;
  return hit;
}

const deltaE = differenceCiede2000();
const rgb = (d: Uint8Array, o: number) => ({ mode: 'rgb' as const, r: d[o] / 255, g: d[o + 1] / 255, b: d[o + 2] / 255 });

/** Mean and max ΔE2000 (culori) between two frames over the pixels whose centres lie inside `polys` (even-odd) and pass `also`. */
export function meanDeltaE(before: Uint8Array, after: Frame, polys: Poly[], also: (x: number, y: number) => boolean = () => true): { mean: number; max: number; n: number } {
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let y = 0; y < after.height; y++) {
    for (let x = 0; x < after.width; x++) {
      if (!inside(polys, x + 0.5, y + 0.5) || !also(x + 0.5, y + 0.5)) continue;
      const o = (y * after.width + x) * 3;
      const d = deltaE(rgb(before, o), rgb(after.data, o));
      sum += d;
      max = Math.max(max, d);
      n++;
    }
  }
  return { mean: n ? sum / n : 0, max, n };
}

/** 4x4 samples per pixel: the share of the pixel inside `poly`. */
function coverage(poly: Poly, x: number, y: number): number {
  let n = 0;
  for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside([poly], x + (sx + 0.5) / 4, y + (sy + 0.5) / 4)) n++;
  return n / 16;
}

/**
 * `target` with the pixels of `source` inside `poly` pasted at `poly` + `offset` (anti-aliased
 * edges): a real finger cut from one photo laid over a face in another. Also returns the pasted
 * outline and the pixels fully inside it (the measure's domain: edge pixels mix finger and face).
 */
export function pasteCutout(source: RgbImage, poly: Poly, target: RgbImage, [dx, dy]: [number, number]): { image: RgbImage; outline: Poly } {
  const out = new Uint8Array(target.data);
  const xs = poly.map((p) => p[0]);
  const ys = poly.map((p) => p[1]);
  for (let y = Math.floor(Math.min(...ys)); y <= Math.ceil(Math.max(...ys)); y++) {
    for (let x = Math.floor(Math.min(...xs)); x <= Math.ceil(Math.max(...xs)); x++) {
      const a = coverage(poly, x, y);
      if (a === 0) continue;
      const s = (y * source.width + x) * 3;
      const t = ((y + dy) * target.width + x + dx) * 3;
      for (let c = 0; c < 3; c++) out[t + c] = Math.round(a * source.data[s + c] + (1 - a) * target.data[t + c]);
    }
  }
  return { image: { width: target.width, height: target.height, data: out }, outline: poly.map(([x, y]): [number, number] => [x + dx, y + dy]) };
}

/** Distance from (x, y) to the nearest side of the closed polygon (exact, unlike shrink's approximation). */
export function distanceToOutline(poly: ReadonlyArray<readonly [number, number]>, x: number, y: number): number {
  let best = Infinity;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [ax, ay] = poly[j];
    const [bx, by] = poly[i];
    const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2 || 1)));
    best = Math.min(best, Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay)));
  }
  return best;
}

/** The polygon moved 1 px inwards along each vertex's bisector (approximately): pixels surely inside. */
export function shrink(poly: Poly, px = 1): Poly {
  const cx = poly.reduce((s, p) => s + p[0], 0) / poly.length;
  const cy = poly.reduce((s, p) => s + p[1], 0) / poly.length;
  return poly.map(([x, y]): [number, number] => {
    const d = Math.hypot(x - cx, y - cy) || 1;
    return [x - ((x - cx) / d) * px, y - ((y - cy) / d) * px];
  });
}
