/**
 * `npm run models:variants [-- name ...]`: the FP16 and INT8 (QDQ) variants of every shipped CNN
 * (compress.ts), written beside the float32 ONNX file (`models/onnx/<name>.<variant>.onnx`) with a
 * manifest (`models/manifests/<name>.onnx.<variant>.json`) that records its parity with float32.
 *
 * Photos (package files, never downloaded): INT8 ranges are calibrated on @vladmandic/human's
 * assets/*.jpg; parity is measured on the held-out @vladmandic/face-api demo/sample*.jpg (22 faces),
 * both through the daemon's own decoders (FaceDetector, FaceMesh, IrisModel, PersonSegmenter):
 * - face-detector: IoU of each float32 face box with the variant's best match (photos whole);
 * - face-mesh: mean landmark distance to float32 in frame pixels, per face;
 * - iris: iris-centre distance to float32 in frame pixels, per eye;
 * - segmentation(-meet): mean |mask difference| (probability 0..1) per photo.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FaceDetector, type Detection } from '../../device/vision/detector.ts';
import { sampleRegion, type RgbImage, type SquareRegion } from '../../device/vision/image-ops.ts';
import { EYE_CORNERS, IrisModel } from '../../device/vision/iris.ts';
import { FaceMesh } from '../../device/vision/mesh.ts';
import { createOnnxRuntime } from '../../device/vision/runtime/onnx-runtime.ts';
import type { InferenceRuntime, LoadedModel } from '../../device/vision/runtime/runtime.ts';
import { PersonSegmenter } from '../../device/vision/segmentation.ts';
import type { ModelVariant } from '../decode.ts';
import { manifestFileName, resolveModel, type ModelManifest, type ParityReport, type ResolvedModel } from '../registry.ts';
import { calibrationTensors, decodeModel, encodeModel, toFp16, toInt8, withOutputs, type TensorRange } from './compress.ts';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COMPRESS_ID = 'models/converter compress v1 (fp16: all float tensors, fp32 I/O; int8: QDQ, per-channel symmetric 7-bit Conv weights, uint8 Conv activations calibrated by moving-average min/max, heads float)';
export const SHIPPED_CNNS = ['face-detector', 'face-mesh', 'attention-mesh', 'iris', 'segmentation', 'segmentation-meet'];
export const CALIBRATION_PHOTOS = '@vladmandic/human/assets/*.jpg';
export const EVALUATION_PHOTOS = '@vladmandic/face-api/demo/sample1-6.jpg';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const require = createRequire(import.meta.url);

export async function readPhoto(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function calibrationFiles(): string[] {
  // The package's exports hide package.json; its main file sits in dist/.
  const dir = path.join(path.dirname(require.resolve('@vladmandic/human')), '..', 'assets');
  return ['samples.jpg', 'screenshot-facedetect.jpg', 'screenshot-faceid.jpg', 'screenshot-facematch.jpg', 'screenshot-vrm.jpg'].map((f) => path.join(dir, f));
}

export function evaluationFiles(): string[] {
  return [1, 2, 3, 4, 5, 6].map((i) => require.resolve(`@vladmandic/face-api/demo/sample${i}.jpg`));
}

/** A face as the daemon sees it: the mesh region (upright, 1.5x the landmarks' extent) and its float32 landmarks. */
export interface FaceSample {
  image: RgbImage;
  region: SquareRegion;
  landmarks: Array<[number, number, number]>;
}

/**
 * Every face the float32 detector finds on `image` or on a 2x2 / 3x3 grid of overlapping tiles of
 * it (group photos: faces too small for a whole-frame pass), each tile framing its faces like a
 * shopper at the mirror; meshed once from the detection and once from its own landmarks. A face
 * found at several scales is kept once (the largest tile that found it).
 */
export async function facesOf(image: RgbImage, detector: FaceDetector, mesh: FaceMesh): Promise<FaceSample[]> {
  const out: Array<FaceSample & { at: [number, number]; span: number }> = [];
  for (const grid of [1, 2, 3]) {
    const w = Math.round((image.width * 2) / (grid + 1));
    const h = Math.round((image.height * 2) / (grid + 1));
    for (let gy = 0; gy < grid; gy++)
      for (let gx = 0; gx < grid; gx++) {
        const x0 = grid === 1 ? 0 : Math.round((gx * (image.width - w)) / (grid - 1));
        const y0 = grid === 1 ? 0 : Math.round((gy * (image.height - h)) / (grid - 1));
        const tile = grid === 1 ? image : crop(image, x0, y0, w, h);
        for (const d of await detector.detect(tile)) {
          const first = await mesh.estimate(tile, regionOfBox(d));
          if (first.score < 0.5) continue;
          const region = regionOfLandmarks(first.landmarks);
          const { landmarks, score } = await mesh.estimate(tile, region);
          const at: [number, number] = [x0 + region.cx, y0 + region.cy];
          if (score < 0.5 || out.some((f) => Math.hypot(f.at[0] - at[0], f.at[1] - at[1]) < 0.3 * Math.max(f.span, region.size))) continue;
          out.push({ image: tile, region, landmarks, at, span: region.size });
        }
      }
  }
  return out.map(({ image: i, region, landmarks }) => ({ image: i, region, landmarks }));
}

function crop(image: RgbImage, x0: number, y0: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + width) * 3), y * width * 3);
  return { width, height, data };
}

const regionOfBox = (d: Detection): SquareRegion => ({ cx: d.box.x + d.box.width / 2, cy: d.box.y + d.box.height / 2, size: 1.6 * Math.max(d.box.width, d.box.height), angle: 0 });

function regionOfLandmarks(points: ReadonlyArray<readonly number[]>): SquareRegion {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: 1.5 * Math.max(x1 - x0, y1 - y0), angle: 0 };
}

/** The eye crops IrisModel cuts (right eye, then left mirrored is left to the model): same geometry, 2.3x the corners. */
function eyeRegions(face: FaceSample, cropScale: number): SquareRegion[] {
  return [EYE_CORNERS.right, EYE_CORNERS.left].map(([a, b]) => {
    const [p, q] = [face.landmarks[a], face.landmarks[b]];
    return { cx: (p[0] + q[0]) / 2, cy: (p[1] + q[1]) / 2, size: Math.hypot(q[0] - p[0], q[1] - p[1]) * cropScale, angle: Math.atan2(q[1] - p[1], q[0] - p[0]) };
  });
}

/** The inputs the model sees on these photos (its own preprocessing), for calibration. */
async function modelInputs(manifest: ModelManifest, images: RgbImage[], faces: FaceSample[]): Promise<Float32Array[]> {
  const [, h, w] = manifest.input.shape;
  const range = manifest.input.range;
  switch (manifest.task) {
    case 'face-detection':
      return images.map((image) => sampleRegion(image, { cx: image.width / 2, cy: image.height / 2, size: Math.max(image.width, image.height), angle: 0 }, w, range));
    case 'face-landmarks':
      return faces.map((f) => sampleRegion(f.image, f.region, w, range));
    case 'iris-landmarks':
      return faces.flatMap((f) => eyeRegions(f, manifest.decode.kind === 'iris' ? manifest.decode.cropScale : 2.3).map((r) => sampleRegion(f.image, r, w, range)));
    case 'segmentation':
      return Promise.all(
        images.map(async (image) => {
          const { data } = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
          return Float32Array.from(data, (v) => range[0] + (v / 255) * (range[1] - range[0]));
        }),
      );
  }
}

/**
 * The range of every Conv input and output over the calibration inputs: the mean over inputs of
 * each input's min and max (a moving-average min/max, as ONNX Runtime's and TensorFlow's
 * calibrators offer), so one outlying crop does not coarsen the scale for all.
 */
async function calibrate(fp32: Uint8Array, inputs: Float32Array[], shape: number[]): Promise<Map<string, TensorRange>> {
  const model = decodeModel(fp32);
  const tensors = calibrationTensors(model);
  const session = await ort.InferenceSession.create(withOutputs(model, tensors), { graphOptimizationLevel: 'disabled' });
  const ranges = new Map<string, TensorRange>();
  try {
    for (const input of inputs) {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, shape) });
      for (const t of tensors) {
        const data = out[t].data as Float32Array;
        let [lo, hi] = [Infinity, -Infinity];
        for (let i = 0; i < data.length; i++) {
          if (data[i] < lo) lo = data[i];
          if (data[i] > hi) hi = data[i];
        }
        const r = ranges.get(t) ?? { min: 0, max: 0 };
        ranges.set(t, { min: r.min + lo / inputs.length, max: r.max + hi / inputs.length });
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}

function variantModel(fp32: ResolvedModel, variant: ModelVariant, bytes: Uint8Array): ResolvedModel {
  const file = `onnx/${fp32.manifest.name}.${variant}.onnx`;
  const manifest: ModelManifest = {
    ...fp32.manifest,
    version: `${fp32.manifest.version}+${variant}`,
    files: [{ path: file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }],
    convertedFrom: { format: 'onnx', version: fp32.manifest.version, converter: COMPRESS_ID, variant },
  };
  return { manifest, files: new Map([[path.basename(file), Buffer.from(bytes)]]) };
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

const boxIou = (a: Detection['box'], b: Detection['box']): number => {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h || 1);
};

/** The variant's decoded output against float32's on the evaluation photos (see the file comment). */
export async function parityOf(reference: LoadedModel, variant: LoadedModel, images: RgbImage[], faces: FaceSample[]): Promise<ParityReport> {
  const photos = EVALUATION_PHOTOS;
  switch (reference.manifest.task) {
    case 'face-detection': {
      const [a, b] = [new FaceDetector(reference, { minScore: 0.5 }), new FaceDetector(variant, { minScore: 0.5 })];
      const ious: number[] = [];
      for (const image of images) {
        const theirs = await b.detect(image);
        for (const d of await a.detect(image)) ious.push(Math.max(0, ...theirs.map((t) => boxIou(d.box, t.box))));
      }
      return { metric: 'box-iou', mean: mean(ious), worst: Math.min(...ious), samples: ious.length, photos };
    }
    case 'face-landmarks': {
      const [a, b] = [new FaceMesh(reference), new FaceMesh(variant)];
      const px: number[] = [];
      for (const f of faces) {
        const [p, q] = [(await a.estimate(f.image, f.region)).landmarks, (await b.estimate(f.image, f.region)).landmarks];
        px.push(mean(p.map((x, i) => Math.hypot(x[0] - q[i][0], x[1] - q[i][1]))));
      }
      return { metric: 'landmark-px', mean: mean(px), worst: Math.max(...px), samples: px.length, photos };
    }
    case 'iris-landmarks': {
      const [a, b] = [new IrisModel(reference), new IrisModel(variant)];
      const px: number[] = [];
      for (const f of faces) {
        const [p, q] = [await a.estimate(f.image, f.landmarks), await b.estimate(f.image, f.landmarks)];
        for (const side of ['right', 'left'] as const) px.push(Math.hypot(p[side].center[0] - q[side].center[0], p[side].center[1] - q[side].center[1]));
      }
      return { metric: 'landmark-px', mean: mean(px), worst: Math.max(...px), samples: px.length, photos };
    }
    case 'segmentation': {
      const [a, b] = [new PersonSegmenter(reference, { every: 1 }), new PersonSegmenter(variant, { every: 1 })];
      const diffs: number[] = [];
      for (const image of images) {
        const [p, q] = [await a.segment(image), await b.segment(image)];
        let s = 0;
        for (let i = 0; i < p.data.length; i++) s += Math.abs(p.data[i] - q.data[i]);
        diffs.push(s / p.data.length / 255);
      }
      return { metric: 'mask-abs', mean: mean(diffs), worst: Math.max(...diffs), samples: diffs.length, photos };
    }
  }
}

export interface PhotoSet {
  images: RgbImage[];
  faces: FaceSample[];
}
export interface Photos {
  calibration: PhotoSet;
  evaluation: PhotoSet;
}

/** Reads photos and finds their faces with the shipped float32 detector and mesh. */
export async function loadPhotoSet(runtime: InferenceRuntime, files: string[]): Promise<PhotoSet> {
  const detector = new FaceDetector(await runtime.load(await resolveModel('face-detector', undefined, 'onnx')), { minScore: 0.5 });
  const mesh = new FaceMesh(await runtime.load(await resolveModel('face-mesh', undefined, 'onnx')));
  try {
    const images = await Promise.all(files.map(readPhoto));
    const faces = (await Promise.all(images.map((i) => facesOf(i, detector, mesh)))).flat();
    return { images, faces };
  } finally {
    detector.model.dispose();
    mesh.model.dispose();
  }
}

export async function loadPhotos(runtime: InferenceRuntime): Promise<Photos> {
  return { calibration: await loadPhotoSet(runtime, calibrationFiles()), evaluation: await loadPhotoSet(runtime, evaluationFiles()) };
}

/** Builds both variants of `name`, measures their parity, and returns them (nothing written). */
export async function buildVariants(name: string, runtime: InferenceRuntime, photos: Photos): Promise<Array<ResolvedModel & { parity: ParityReport }>> {
  const fp32 = await resolveModel(name, undefined, 'onnx');
  const bytes = fp32.files.get(path.basename(fp32.manifest.files[0].path))!;
  const source = decodeModel(bytes);
  const shape = fp32.manifest.input.shape;
  const inputs = await modelInputs(fp32.manifest, photos.calibration.images, photos.calibration.faces);
  const ranges = await calibrate(bytes, inputs, shape);
  const reference = await runtime.load(fp32);
  const out: Array<ResolvedModel & { parity: ParityReport }> = [];
  try {
    for (const [variant, model] of [['fp16', toFp16(source)], ['int8', toInt8(source, ranges)]] as const) {
      const resolved = variantModel(fp32, variant, encodeModel(model));
      const loaded = await runtime.load(resolved);
      try {
        const parity = await parityOf(reference, loaded, photos.evaluation.images, photos.evaluation.faces);
        resolved.manifest.convertedFrom = { ...resolved.manifest.convertedFrom!, parity };
        out.push({ ...resolved, parity });
      } finally {
        loaded.dispose();
      }
    }
  } finally {
    reference.dispose();
  }
  return out;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : SHIPPED_CNNS;
  const runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'models-variants-')), logger: quiet, intraOpThreads: 1 });
  const photos = await loadPhotos(runtime);
  console.log(`calibration: ${photos.calibration.images.length} photos, ${photos.calibration.faces.length} faces (${CALIBRATION_PHOTOS}); evaluation: ${photos.evaluation.images.length} photos, ${photos.evaluation.faces.length} faces (${EVALUATION_PHOTOS})`);
  for (const name of names) {
    for (const v of await buildVariants(name, runtime, photos)) {
      const file = v.manifest.files[0].path;
      await writeFile(path.join(modelsDir, file), v.files.get(path.basename(file))!);
      await writeFile(path.join(modelsDir, 'manifests', manifestFileName(name, 'onnx', v.manifest.convertedFrom!.variant)), `${JSON.stringify(v.manifest, null, 2)}\n`);
      const p = v.parity;
      console.log(`${name} ${v.manifest.convertedFrom!.variant}: ${file} ${(v.manifest.files[0].size! / 1024).toFixed(0)} KiB; ${p.metric} mean ${p.mean.toFixed(4)} worst ${p.worst.toFixed(4)} over ${p.samples}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
