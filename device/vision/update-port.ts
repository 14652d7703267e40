/**
 * The vision side of updates (device/update/vision-port.ts): golden frames from the bundled demo
 * clip (a face in every one), each model's smoke test on them, and the live stage's swap.
 *
 * Smoke tests, each on every golden frame and within the latency budget (median per frame):
 * - face-mesh: the face is found, all its landmarks are finite and lie inside the crop the mesh ran on;
 * - attention-mesh: the same on its 478 points, its first 468 within 10 % of the inter-ocular
 *   distance of the bundled plain mesh's, and its irises pass the iris test below;
 * - face-detector: it finds the face the bundled detector finds (box IoU >= 0.5), and the bundled
 *   mesh run on its crop holds the face (mesh score above the threshold);
 * - iris: each iris centre lies between its eye's corners and its radius is 10-40 % of the corner distance;
 * - segmentation: the mask covers the face (mean >= 0.6 inside the face box) but not the whole frame (< 0.95).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { resolveModel } from '../../models/registry.ts';
import type { GoldenFace, VisionModel, VisionPort } from '../update/vision-port.ts';
import { FaceDetector, type Detection } from './detector.ts';
import type { Box, Face } from './face.ts';
import type { FaceStage } from './face-stage.ts';
import { FaceTracker } from './face-tracker.ts';
import type { RgbImage } from './image-ops.ts';
import { EYE_CORNERS, IrisModel, type IrisPair } from './iris.ts';
import { irisesOf } from './attention-mesh.ts';
import { FaceMesh } from './mesh.ts';
import type { InferenceRuntime, LoadedModel } from './runtime/runtime.ts';
import { interOcular } from './regions.ts';
import { PersonSegmenter } from './segmentation.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GOLDEN_CLIP_DIR = path.join(repoRoot, 'device', 'assets', 'demo-clip');
export const GOLDEN_FRAMES = ['frame-0001.jpg', 'frame-0038.jpg', 'frame-0075.jpg', 'frame-0112.jpg', 'frame-0150.jpg'];
const MESH = 'face-mesh';
const DETECTOR = 'face-detector';

export interface Scores {
  detectorMinScore: number;
  meshMinScore: number;
}

export interface SmokeOptions extends Scores {
  /** Median model time per golden frame must stay under this. */
  latencyBudgetMs: number;
  goldenFrames?: string[];
}

export async function loadGoldenFrames(files = GOLDEN_FRAMES, width = 640): Promise<RgbImage[]> {
  const frames: RgbImage[] = [];
  for (const f of files) {
    const { data, info } = await sharp(path.join(GOLDEN_CLIP_DIR, f)).resize({ width }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    frames.push({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  return frames;
}

function tracker(detectorModel: LoadedModel, meshModel: LoadedModel, s: Scores): FaceTracker {
  const detector = new FaceDetector(detectorModel, { minScore: s.detectorMinScore });
  return new FaceTracker(detector, new FaceMesh(meshModel), { minMeshScore: s.meshMinScore });
}

const median = (times: number[]): number => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;

function overBudget(what: string, times: number[], budgetMs: number): string | null {
  const m = median(times);
  return m > budgetMs ? `median ${what} time ${m.toFixed(1)} ms exceeds the ${budgetMs} ms budget` : null;
}

async function timed<T>(times: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  times.push(performance.now() - t0);
  return out;
}

/**
 * Runs the golden frames through `mesh` (with a detector of its own); the reason on failure. With
 * `reference` (the bundled mesh), the candidate's first 468 points must also stay within 10 % of the
 * inter-ocular distance of the reference's on average.
 */
export async function smokeTestMesh(frames: readonly RgbImage[], mesh: LoadedModel, detectorModel: LoadedModel, options: SmokeOptions, reference?: LoadedModel): Promise<string | null> {
  const t = tracker(detectorModel, mesh, options);
  const ref = reference ? new FaceMesh(reference) : null;
  const candidate = new FaceMesh(mesh);
  const times: number[] = [];
  for (const [i, frame] of frames.entries()) {
    t.reset();
    let result;
    try {
      result = await t.process(frame); // detect, then the mesh on the detector's crop
      // Time the mesh alone on the tracked crop (what runs on every frame while a face is tracked).
      if (result.faces.length > 0) result = await timed(times, () => t.process(frame));
    } catch (err) {
      return `golden frame ${i + 1}: the model failed to run (${(err as Error).message})`;
    }
    const face = result.faces[0];
    if (!face) return `golden frame ${i + 1}: no face found (mesh score below ${options.meshMinScore})`;
    const { box } = face;
    const slack = 0.05 * Math.max(box.width, box.height);
    const outside = face.landmarks.filter(
      ([x, y, z]) =>
        !Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z) ||
        x < box.x - slack || x > box.x + box.width + slack || y < box.y - slack || y > box.y + box.height + slack,
    ).length;
    const expected = mesh.manifest.decode.kind === 'attention-mesh' ? 478 : 468;
    if (face.landmarks.length !== expected || outside > 0) {
      return `golden frame ${i + 1}: ${outside} of ${face.landmarks.length} landmarks are outside the crop or not finite`;
    }
    const irises = irisesOf(face.landmarks);
    const irisProblem = irises && misplacedIris(face.landmarks, irises);
    if (irisProblem) return `golden frame ${i + 1}: ${irisProblem}`;
    if (ref) {
      const region = { cx: box.x + box.width / 2, cy: box.y + box.height / 2, size: Math.max(box.width, box.height), angle: 0 };
      const [a, b] = [(await ref.estimate(frame, region)).landmarks, (await candidate.estimate(frame, region)).landmarks];
      const iod = interOcular(a);
      // The reference is the plain mesh: its 468 points against the candidate's first 468.
      const err = a.reduce((sum, p, k) => sum + Math.hypot(p[0] - b[k][0], p[1] - b[k][1]), 0) / a.length / iod;
      if (err > 0.1) return `golden frame ${i + 1}: landmarks are ${(err * 100).toFixed(0)} % of the inter-ocular distance from the bundled mesh's (> 10 %)`;
    }
  }
  return overBudget('mesh', times, options.latencyBudgetMs);
}

const iou = (a: Box, b: Box): number => {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h || 1);
};

/** A candidate detector against the bundled one on the golden frames, and the bundled mesh on its crops. */
export async function smokeTestDetector(frames: readonly RgbImage[], candidate: LoadedModel, reference: LoadedModel, meshModel: LoadedModel, options: SmokeOptions): Promise<string | null> {
  const detector = new FaceDetector(candidate, { minScore: options.detectorMinScore });
  const bundled = new FaceDetector(reference, { minScore: options.detectorMinScore });
  const t = new FaceTracker(detector, new FaceMesh(meshModel), { minMeshScore: options.meshMinScore });
  const times: number[] = [];
  for (const [i, frame] of frames.entries()) {
    let found: Detection[];
    try {
      found = await timed(times, () => detector.detect(frame));
    } catch (err) {
      return `golden frame ${i + 1}: the model failed to run (${(err as Error).message})`;
    }
    const want = (await bundled.detect(frame))[0];
    const got = found[0];
    if (!got) return `golden frame ${i + 1}: no face detected (score below ${options.detectorMinScore})`;
    if (want && iou(want.box, got.box) < 0.5) return `golden frame ${i + 1}: the face box overlaps the bundled detector's by IoU ${iou(want.box, got.box).toFixed(2)} (< 0.5)`;
    t.reset();
    const face = (await t.process(frame)).faces[0];
    if (!face) return `golden frame ${i + 1}: the mesh does not hold the face on this detector's crop (score below ${options.meshMinScore})`;
  }
  return overBudget('detector', times, options.latencyBudgetMs);
}

/** A candidate iris model on the golden faces: centres between the eye corners, plausible radii. */
export async function smokeTestIris(golden: readonly GoldenFace[], candidate: LoadedModel, options: SmokeOptions): Promise<string | null> {
  const iris = new IrisModel(candidate);
  const times: number[] = [];
  for (const [i, { image, face }] of golden.entries()) {
    let pair;
    try {
      pair = await timed(times, () => iris.estimate(image, face.landmarks));
    } catch (err) {
      return `golden frame ${i + 1}: the model failed to run (${(err as Error).message})`;
    }
    const problem = misplacedIris(face.landmarks, pair);
    if (problem) return `golden frame ${i + 1}: ${problem}`;
  }
  return overBudget('iris', times, options.latencyBudgetMs);
}

/** Why an iris pair is implausible for these eye corners (centre between them, radius 10-40 % of the eye), or null. */
function misplacedIris(landmarks: ReadonlyArray<readonly number[]>, pair: IrisPair): string | null {
  for (const side of ['right', 'left'] as const) {
    const [a, b] = EYE_CORNERS[side];
    const [p, q] = [landmarks[a], landmarks[b]];
    const span = Math.hypot(q[0] - p[0], q[1] - p[1]);
    const { center, radius } = pair[side];
    // Position of the centre along the corner-to-corner line (0..1 inside) and off it.
    const along = ((center[0] - p[0]) * (q[0] - p[0]) + (center[1] - p[1]) * (q[1] - p[1])) / (span * span);
    const off = Math.abs((center[0] - p[0]) * (q[1] - p[1]) - (center[1] - p[1]) * (q[0] - p[0])) / span;
    if (![along, off, radius].every(Number.isFinite) || along < 0 || along > 1 || off > 0.5 * span) return `the ${side} iris centre is not between the eye corners`;
    if (radius < 0.1 * span || radius > 0.4 * span) return `the ${side} iris radius is ${(radius / span).toFixed(2)} of the eye width (expected 0.1-0.4)`;
  }
  return null;
}

/** A candidate segmentation model on the golden faces: the mask covers the face, not the whole frame. */
export async function smokeTestSegmentation(golden: readonly GoldenFace[], candidate: LoadedModel, options: SmokeOptions): Promise<string | null> {
  const segmenter = new PersonSegmenter(candidate, { every: 1 });
  const times: number[] = [];
  for (const [i, { image, face }] of golden.entries()) {
    let mask;
    try {
      mask = await timed(times, () => segmenter.segment(image));
    } catch (err) {
      return `golden frame ${i + 1}: the model failed to run (${(err as Error).message})`;
    }
    const { x, y, width, height } = face.box;
    let inside = 0;
    let n = 0;
    for (let yy = Math.max(0, Math.round(y)); yy < Math.min(mask.height, Math.round(y + height)); yy++)
      for (let xx = Math.max(0, Math.round(x)); xx < Math.min(mask.width, Math.round(x + width)); xx++, n++) inside += mask.data[yy * mask.width + xx];
    const faceMean = n ? inside / n / 255 : 0;
    const frameMean = mask.data.reduce((s, v) => s + v, 0) / mask.data.length / 255;
    if (faceMean < 0.6) return `golden frame ${i + 1}: the mask covers ${(faceMean * 100).toFixed(0)} % of the face (< 60 %)`;
    if (frameMean >= 0.95) return `golden frame ${i + 1}: the mask covers the whole frame (${(frameMean * 100).toFixed(0)} %)`;
  }
  return overBudget('segmentation', times, options.latencyBudgetMs);
}

/** Finds the face on each golden frame with the given detector and mesh (all 468/478 landmarks). */
async function goldenFacesWith(frames: readonly RgbImage[], detectorModel: LoadedModel, meshModel: LoadedModel, s: Scores): Promise<GoldenFace[]> {
  const t = tracker(detectorModel, meshModel, s);
  const out: GoldenFace[] = [];
  for (const image of frames) {
    t.reset();
    await t.process(image);
    const face: Face | undefined = (await t.process(image)).faces[0];
    if (face) out.push({ image, face });
  }
  return out;
}

/** Finds the face on each golden frame with the bundled detector and mesh (loaded, run, released). */
export async function goldenFacesFromRuntime(runtime: InferenceRuntime, s: Scores): Promise<GoldenFace[]> {
  const frames = await loadGoldenFrames();
  return withBundled(runtime, (detector, mesh) => goldenFacesWith(frames, detector, mesh, s));
}

/** Runs `fn` with the bundled detector and mesh loaded on `runtime`, released afterwards. */
async function withBundled<T>(runtime: InferenceRuntime, fn: (detector: LoadedModel, mesh: LoadedModel) => Promise<T>): Promise<T> {
  const detectorModel = await runtime.load(await resolveModel(DETECTOR));
  try {
    const meshModel = await runtime.load(await resolveModel(MESH));
    try {
      return await fn(detectorModel, meshModel);
    } finally {
      meshModel.dispose();
    }
  } finally {
    detectorModel.dispose();
  }
}

/** The vision port over the daemon's face stage; golden frames are read once, on the first smoke test. */
export function createVisionPort(stage: FaceStage, options: SmokeOptions): VisionPort {
  let golden: Promise<RgbImage[]> | undefined;
  const frames = async (): Promise<RgbImage[]> => {
    golden ??= loadGoldenFrames(options.goldenFrames ?? GOLDEN_FRAMES);
    return golden.catch((err: unknown) => {
      golden = undefined;
      throw err;
    });
  };
  return {
    updatable: stage.updatable,
    servingVersion: (name) => stage.modelVersions[name],
    load: (name, dir) => stage.loadModel(name, dir ? path.join(dir, 'manifests') : undefined),
    async smokeTest(name, model: VisionModel) {
      const candidate = model as LoadedModel;
      if (candidate.name !== name) return `the bundle holds model "${candidate.name}", not "${name}"`;
      const golden = await frames();
      return withBundled(stage.runtime, async (detector, mesh) => {
        switch (candidate.manifest.task) {
          case 'face-detection':
            return smokeTestDetector(golden, candidate, detector, mesh, options);
          case 'face-landmarks':
            return smokeTestMesh(golden, candidate, detector, options, mesh);
          case 'iris-landmarks':
            return smokeTestIris(await goldenFacesWith(golden, detector, mesh, options), candidate, options);
          case 'segmentation':
            return smokeTestSegmentation(await goldenFacesWith(golden, detector, mesh, options), candidate, options);
        }
      });
    },
    swap: (name, model: VisionModel) => stage.swapModel(name, model as LoadedModel),
  };
}
