/**
 * Real faces for renderer tests: package-shipped photos, framed like the mirror's camera (a window
 * about two faces wide around one hand-boxed face of tests/fixtures/region-boxes.hand.json), with
 * landmarks from the real face tracker on the real runtime; and a RenderContext over a frame.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { cropImage, loadVision, readRgb } from './vision.ts';
import { repoRoot } from './daemon.ts';
import { shopperWindow } from '../vision/transform.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import type { Frame } from '../../device/core/frame.ts';
import type { Face, Box } from '../../device/vision/face.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import type { CoverageMask } from '../../device/tryon/raster.ts';
import type { LightEstimate, OcclusionGate, RenderContext } from '../../device/tryon/render/renderer.ts';

export interface RealFace {
  name: string;
  image: RgbImage;
  face: Face;
}

interface Fixture {
  photos: Array<{ file: string; faces: Array<{ face: Box }> }>;
}
const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'region-boxes.hand.json'), 'utf8'));

/** [photo index, face index] of sharp, frontal-enough faces: sample6 #0, sample3 #2 (gloss), sample1 #0 (liner), sample5 #1 (open mouth). */
export const FACE_PICKS: ReadonlyArray<readonly [number, number]> = [
  [5, 0],
  [2, 2],
  [0, 0],
  [4, 1],
];

export type Vision = Awaited<ReturnType<typeof loadVision>>;

export async function realFace(vision: Vision, [photo, index]: readonly [number, number], facesWide = 2): Promise<RealFace> {
  const entry = fixture.photos[photo];
  const image = cropImage(await readRgb(entry.file), shopperWindow(entry.faces[index].face, facesWide));
  const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
  const { faces } = await tracker.process(image);
  if (faces.length === 0) throw new Error(`no face in ${entry.file} #${index}`);
  return { name: `${path.basename(entry.file, '.jpg')}-${index}`, image, face: faces[0] };
}

export const frameOf = (image: RgbImage, id = 1): Frame => ({ id, capturedAt: 0, width: image.width, height: image.height, format: 'rgb24', data: Buffer.from(image.data) });

/** Lets everything through: the occlusion gate is occlusion's to test; these tests measure the paint. */
export const OPEN_GATE: OcclusionGate = { apply() {} };

/** An even overhead light at the level of a well-lit face (linear luminance). */
export const EVEN_LIGHT: LightEstimate = { direction: [0, -1], highlight: 0.55, median: 0.3 };

/**
 * The stage's own RenderContext (render/context.ts: region masks rasterised once per frame and gated
 * once), with the light the test sets (a test condition; the stage estimates it from the frame).
 */
export function contextFor(frame: Frame, face: Face, gate: OcclusionGate = OPEN_GATE, light: LightEstimate = EVEN_LIGHT): RenderContext {
  return { ...createRenderContext(frame, face, gate), light };
}

export const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'tryon', 'lips-eyes');

export async function savePng(name: string, frame: { width: number; height: number; data: Uint8Array }): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toFile(file);
  return file;
}

/** Largest per-channel difference between two frames inside a mask's rect where the mask is > 0. */
export function maxChange(a: Uint8Array, b: Uint8Array, width: number, mask: CoverageMask): number {
  let worst = 0;
  const { rect, alpha } = mask;
  for (let y = 0; y < rect.height; y++)
    for (let x = 0; x < rect.width; x++) {
      if (alpha[y * rect.width + x] <= 0) continue;
      const p = ((rect.y + y) * width + rect.x + x) * 3;
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(a[p + c] - b[p + c]));
    }
  return worst;
}

/** Mean absolute per-channel difference over the whole frame (how different two renders are). */
export function meanDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
