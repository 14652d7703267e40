/**
 * The vision side of updates (device/update/vision-port.ts): golden frames from the bundled demo
 * clip (a face in every one), the mesh smoke test on them, and the live tracker's mesh swap.
 *
 * A mesh passes when, on every golden frame, the face is found, all 468 landmarks are finite and
 * lie inside the crop the mesh ran on, and the median mesh time stays within the latency budget.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { resolveModel } from '../../models/registry.ts';
import type { GoldenFace, MeshModel, MeshPort } from '../update/vision-port.ts';
import { FaceDetector } from './detector.ts';
import type { FaceStage } from './face-stage.ts';
import { FaceTracker } from './face-tracker.ts';
import type { RgbImage } from './image-ops.ts';
import { FaceMesh } from './mesh.ts';
import type { InferenceRuntime, LoadedModel } from './runtime/runtime.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GOLDEN_CLIP_DIR = path.join(repoRoot, 'device', 'assets', 'demo-clip');
export const GOLDEN_FRAMES = ['frame-0001.jpg', 'frame-0038.jpg', 'frame-0075.jpg', 'frame-0112.jpg', 'frame-0150.jpg'];
const MESH = 'face-mesh';

export interface Scores {
  detectorMinScore: number;
  meshMinScore: number;
}

export interface SmokeOptions extends Scores {
  /** Median mesh time per golden frame must stay under this. */
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

/** Runs the golden frames through `mesh` (with a detector of its own); the reason on failure. */
export async function smokeTestMesh(frames: readonly RgbImage[], mesh: LoadedModel, detectorModel: LoadedModel, options: SmokeOptions): Promise<string | null> {
  const t = tracker(detectorModel, mesh, options);
  const times: number[] = [];
  for (const [i, frame] of frames.entries()) {
    t.reset();
    let result;
    try {
      result = await t.process(frame); // detect, then the mesh on the detector's crop
      if (result.faces.length > 0) {
        // Time the mesh alone on the tracked crop (what runs on every frame while a face is tracked).
        const t0 = performance.now();
        result = await t.process(frame);
        times.push(performance.now() - t0);
      }
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
    if (face.landmarks.length !== 468 || outside > 0) {
      return `golden frame ${i + 1}: ${outside} of ${face.landmarks.length} landmarks are outside the crop or not finite`;
    }
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  if (median > options.latencyBudgetMs) return `median mesh time ${median.toFixed(1)} ms exceeds the ${options.latencyBudgetMs} ms budget`;
  return null;
}

/** Finds the face on each golden frame with the bundled detector and mesh (loaded, run, released). */
export async function goldenFacesFromRuntime(runtime: InferenceRuntime, s: Scores): Promise<GoldenFace[]> {
  const frames = await loadGoldenFrames();
  const detectorModel = await runtime.load(await resolveModel('face-detector'));
  try {
    const meshModel = await runtime.load(await resolveModel(MESH));
    try {
      const t = tracker(detectorModel, meshModel, s);
      const out: GoldenFace[] = [];
      for (const image of frames) {
        t.reset();
        await t.process(image);
        const face = (await t.process(image)).faces[0];
        if (face) out.push({ image, face });
      }
      return out;
    } finally {
      meshModel.dispose();
    }
  } finally {
    detectorModel.dispose();
  }
}

/** The mesh port over the daemon's face stage; golden frames are read once, on the first smoke test. */
export function createMeshPort(stage: FaceStage, options: SmokeOptions): MeshPort {
  let golden: Promise<RgbImage[]> | undefined;
  return {
    servingVersion: () => stage.modelVersions[MESH],
    async load(dir) {
      return stage.runtime.load(dir ? await resolveModel(MESH, path.join(dir, 'manifests')) : await resolveModel(MESH));
    },
    async smokeTest(mesh: MeshModel) {
      golden ??= loadGoldenFrames(options.goldenFrames ?? GOLDEN_FRAMES);
      const frames = await golden.catch((err: unknown) => {
        golden = undefined;
        throw err;
      });
      const detector = await stage.runtime.load(await resolveModel('face-detector'));
      try {
        return await smokeTestMesh(frames, mesh as LoadedModel, detector, options);
      } finally {
        detector.dispose();
      }
    },
    swap: (mesh: MeshModel) => stage.swapMesh(mesh as LoadedModel),
  };
}
