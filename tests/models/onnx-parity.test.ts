/**
 * The converted ONNX models compute what the TF.js originals compute, on real face photos
 * (the @vladmandic/face-api demo photos, cropped per face as the mirror frames a shopper):
 * ONNX Runtime (CPU EP) against TF.js (WASM), same input tensors, every output value compared.
 *
 * Measured max |ONNX − TF.js| on this suite (2-core x86, ORT 1.30 CPU, tfjs-wasm 4.22); the
 * bounds below leave headroom for other CPUs' kernels without hiding a conversion error (a
 * wrong padding, layout or activation moves outputs by whole units):
 *   face-detector (22 shopper-framed crops, 896 anchors x (16 box values in input px + 1 logit)): 2.7e-3
 *   face-mesh (22 faces): raw outputs 1.7e-4 (192 px crop units); landmarks in frame px 3.4e-4
 *     (bound 0.1 px); face score 6e-8
 *   iris (44 eyes, 228 values in 64 px crop units): 4.6e-5
 *   segmentation / selfie (6 whole photos, 256x256 mask probability): 1.1e-4
 *   segmentation-meet (6 whole photos, 144x256x2 logits): 2.3e-4
 * The exact figures of the last run are printed by the final test and kept in the README.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../../models/registry.ts';
import { createOnnxRuntime } from '../../device/vision/runtime/onnx-runtime.ts';
import { createTfjsRuntime } from '../../device/vision/runtime/tfjs-runtime.ts';
import type { LoadedModel, TensorOut } from '../../device/vision/runtime/runtime.ts';
import { FaceMesh } from '../../device/vision/mesh.ts';
import { sampleRegion, type RgbImage, type SquareRegion } from '../../device/vision/image-ops.ts';
import type { Box } from '../../device/vision/face.ts';
import { readRgb } from '../helpers/vision.ts';
import { repoRoot } from '../helpers/daemon.ts';

interface Fixture {
  photos: Array<{ file: string; faces: Box[] }>;
}
const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'face-boxes.json'), 'utf8'));
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const MODELS = ['face-detector', 'face-mesh', 'iris', 'segmentation', 'segmentation-meet'] as const;
type Name = (typeof MODELS)[number];

const pairs = {} as Record<Name, { tfjs: LoadedModel; onnx: LoadedModel }>;
const measured: Record<string, number> = {};
const photos: Array<{ file: string; image: RgbImage; faces: Box[] }> = [];

function maxAbsDiff(a: TensorOut[], b: TensorOut[]): number {
  expect(b.map((o) => o.data.length)).toEqual(a.map((o) => o.data.length));
  let max = 0;
  a.forEach((o, i) => {
    for (let k = 0; k < o.data.length; k++) {
      const d = Math.abs(o.data[k] - b[i].data[k]);
      if (!(d <= max)) max = d; // NaN propagates as a failure
    }
  });
  return max;
}

async function both(name: Name, input: Float32Array, shape: number[]): Promise<number> {
  const [a, b] = [await pairs[name].tfjs.run(input, shape), await pairs[name].onnx.run(input, shape)];
  return maxAbsDiff(a, b);
}

function record(key: string, value: number): void {
  measured[key] = Math.max(measured[key] ?? 0, value);
}

/** The shopper-framed square around a face: the face about a quarter of the width, as at the mirror. */
const frameRegion = (f: Box): SquareRegion => ({ cx: f.x + f.width / 2, cy: f.y + f.height / 2, size: f.width * 4, angle: 0 });
const faceRegion = (f: Box): SquareRegion => ({ cx: f.x + f.width / 2, cy: f.y + f.height / 2, size: Math.max(f.width, f.height) * 1.5, angle: 0 });

beforeAll(async () => {
  const tfjs = await createTfjsRuntime('tfjs-wasm', quiet);
  const onnx = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'parity-')), logger: quiet });
  for (const name of MODELS) {
    pairs[name] = { tfjs: await tfjs.load(await resolveModel(name)), onnx: await onnx.load(await resolveModel(name, undefined, 'onnx')) };
    expect(pairs[name].onnx.backend).toBe('onnx-cpu');
  }
  for (const p of fixture.photos) photos.push({ file: p.file, image: await readRgb(p.file), faces: p.faces });
});

afterAll(() => {
  // Each test asserts its own bound; the numbers are printed once for the README's table.
  console.log(`max |onnx - tfjs| per model: ${JSON.stringify(Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, Number(v.toExponential(2))])))}`);
  for (const name of MODELS) {
    pairs[name]?.tfjs.dispose();
    pairs[name]?.onnx.dispose();
  }
});

describe('converted ONNX models match TF.js on the face-api demo photos', () => {
  it('face-detector: raw boxes and scores on every shopper-framed face', async () => {
    for (const p of photos)
      for (const f of p.faces) {
        const input = sampleRegion(p.image, frameRegion(f), 256, [-1, 1]);
        record('face-detector', await both('face-detector', input, [1, 256, 256, 3]));
      }
    expect(measured['face-detector']).toBeLessThan(2e-2);
  });

  it('face-mesh: the 468 landmarks land within 0.1 px of TF.js in frame pixels', async () => {
    const tfMesh = new FaceMesh(pairs['face-mesh'].tfjs);
    const onnxMesh = new FaceMesh(pairs['face-mesh'].onnx);
    for (const p of photos)
      for (const f of p.faces) {
        const region = faceRegion(f);
        record('face-mesh raw', await both('face-mesh', sampleRegion(p.image, region, 192, [0, 1]), [1, 192, 192, 3]));
        const [a, b] = [await tfMesh.estimate(p.image, region), await onnxMesh.estimate(p.image, region)];
        let px = 0;
        a.landmarks.forEach(([x, y], i) => (px = Math.max(px, Math.abs(x - b.landmarks[i][0]), Math.abs(y - b.landmarks[i][1]))));
        record('face-mesh landmarks px', px);
        record('face-mesh score', Math.abs(a.score - b.score));
      }
    expect(measured['face-mesh raw']).toBeLessThan(1e-2);
    expect(measured['face-mesh landmarks px']).toBeLessThan(0.1);
    expect(measured['face-mesh score']).toBeLessThan(1e-3);
  });

  it('iris: eye contour and iris points on both eyes of every face', async () => {
    const tfMesh = new FaceMesh(pairs['face-mesh'].tfjs);
    for (const p of photos)
      for (const f of p.faces) {
        const { landmarks } = await tfMesh.estimate(p.image, faceRegion(f));
        for (const [inner, outer] of [[33, 133], [362, 263]]) {
          const [x0, y0] = landmarks[inner];
          const [x1, y1] = landmarks[outer];
          const region = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: Math.hypot(x1 - x0, y1 - y0) * 2.3, angle: 0 };
          record('iris', await both('iris', sampleRegion(p.image, region, 64, [0, 1]), [1, 64, 64, 3]));
        }
      }
    expect(measured.iris).toBeLessThan(5e-3);
  });

  it('segmentation (selfie) and segmentation-meet: masks on every whole photo', async () => {
    const require = createRequire(import.meta.url);
    for (const p of photos) {
      for (const [name, w, h] of [['segmentation', 256, 256], ['segmentation-meet', 256, 144]] as const) {
        const { data } = await sharp(require.resolve(p.file)).removeAlpha().resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
        const input = Float32Array.from(data, (v) => v / 255);
        record(name, await both(name, input, [1, h, w, 3]));
      }
    }
    expect(measured.segmentation).toBeLessThan(1e-3);
    expect(measured['segmentation-meet']).toBeLessThan(1e-2);
  });
});
