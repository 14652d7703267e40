/**
 * The daemon's side of model updates: loads a staged face-mesh model, smoke-tests it on golden
 * frames, swaps it into the live tracker (the pipeline keeps running: the next frame uses it) and
 * swaps back on rollback. The previous model stays loaded until commit, so a rollback is instant.
 *
 * Golden frames are frames of the bundled demo clip (a face in every one). A model passes when,
 * on every golden frame, the face is found, all 468 landmarks are finite and lie inside the crop
 * the mesh ran on, and the median mesh time stays within the latency budget.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { resolveModel } from '../../models/registry.ts';
import type { Logger } from '../core/logger.ts';
import { FaceDetector } from '../vision/detector.ts';
import { FaceMesh } from '../vision/mesh.ts';
import { FaceTracker } from '../vision/face-tracker.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { FaceStage } from '../vision/face-stage.ts';
import type { LoadedModel } from '../vision/runtime/runtime.ts';
import type { HealthSample, ModelCandidate, ModelHost, SmokeResult } from './host.ts';
import type { ServingModel } from './store.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GOLDEN_CLIP_DIR = path.join(repoRoot, 'device', 'assets', 'demo-clip');
export const GOLDEN_FRAMES = ['frame-0001.jpg', 'frame-0038.jpg', 'frame-0075.jpg', 'frame-0112.jpg', 'frame-0150.jpg'];
export const MESH_MODEL = 'face-mesh';

export interface SmokeOptions {
  /** Median mesh time per golden frame must stay under this. */
  latencyBudgetMs: number;
  detectorMinScore: number;
  meshMinScore: number;
  goldenFrames?: string[];
}

interface LoadedCandidate extends ModelCandidate {
  model: LoadedModel;
}

let goldenCache: RgbImage[] | undefined;

export async function loadGoldenFrames(files = GOLDEN_FRAMES, width = 640): Promise<RgbImage[]> {
  if (files === GOLDEN_FRAMES && goldenCache) return goldenCache;
  const frames: RgbImage[] = [];
  for (const f of files) {
    const { data, info } = await sharp(path.join(GOLDEN_CLIP_DIR, f)).resize({ width }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    frames.push({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  if (files === GOLDEN_FRAMES) goldenCache = frames;
  return frames;
}

/** Runs the golden frames through `mesh` (with a detector of its own); the reason on failure. */
export async function smokeTestMesh(mesh: LoadedModel, detectorModel: LoadedModel, options: SmokeOptions): Promise<string | null> {
  const frames = await loadGoldenFrames(options.goldenFrames ?? GOLDEN_FRAMES);
  const detector = new FaceDetector(detectorModel, { minScore: options.detectorMinScore });
  const faceMesh = new FaceMesh(mesh);
  const tracker = new FaceTracker(detector, faceMesh, { minMeshScore: options.meshMinScore });
  const times: number[] = [];
  for (const [i, frame] of frames.entries()) {
    tracker.reset();
    let result;
    try {
      result = await tracker.process(frame); // detect, then the mesh on the detector's crop
      if (result.faces.length > 0) {
        // Time the mesh alone on the tracked crop (what runs on every frame while a face is tracked).
        const t0 = performance.now();
        result = await tracker.process(frame);
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

export interface FaceMeshHostOptions extends SmokeOptions {
  vision: FaceStage;
  /** What serves now (from the committed pointer; null dir = the bundled model). */
  serving: ServingModel;
  health: () => HealthSample;
  logger: Logger;
}

/** The ModelHost over the daemon's face stage. */
export function createFaceMeshHost(opts: FaceMeshHostOptions): ModelHost & { dispose(): void } {
  const { vision, logger } = opts;
  let serving: ServingModel = { ...opts.serving, version: vision.modelVersions[MESH_MODEL] ?? opts.serving.version };
  /** The model that served before the switch, kept loaded until commit. */
  let previous: { model: LoadedModel; serving: ServingModel } | null = null;

  const check = (name: string): void => {
    if (name !== MESH_MODEL) throw new Error(`model host: cannot update "${name}"`);
  };

  return {
    updatable: [MESH_MODEL],
    serving(name) {
      check(name);
      return serving;
    },
    async smokeTest(name, dir): Promise<SmokeResult> {
      check(name);
      let model: LoadedModel;
      try {
        model = await vision.runtime.load(await resolveModel(name, path.join(dir, 'manifests')));
      } catch (err) {
        return { ok: false, detail: `model does not load: ${(err as Error).message}`.slice(0, 500) };
      }
      let detector: LoadedModel | undefined;
      try {
        detector = await vision.runtime.load(await resolveModel('face-detector'));
        const problem = await smokeTestMesh(model, detector, opts);
        if (problem) {
          model.dispose();
          return { ok: false, detail: problem };
        }
      } catch (err) {
        model.dispose();
        return { ok: false, detail: `smoke test could not run: ${(err as Error).message}` };
      } finally {
        detector?.dispose();
      }
      const candidate: LoadedCandidate = { version: model.version, model, dispose: () => model.dispose() };
      return { ok: true, candidate };
    },
    activate(name, candidate, model) {
      check(name);
      const old = vision.swapMesh((candidate as LoadedCandidate).model);
      previous?.model.dispose();
      previous = { model: old, serving };
      serving = model;
      logger.info({ model: name, version: model.version, previous: previous.serving.version }, 'update: new model serving frames');
    },
    async revert(name, to) {
      check(name);
      const target: ServingModel = to ?? { version: 'bundled', dir: null };
      if (previous && (previous.serving.dir ?? null) === (target.dir ?? null)) {
        const candidate = vision.swapMesh(previous.model);
        serving = previous.serving;
        previous = null;
        // A frame may still be in the candidate; release it on the next turn of the loop.
        setTimeout(() => candidate.dispose(), 1000).unref();
        logger.warn({ model: name, version: serving.version }, 'update: previous model serving again');
        return;
      }
      if ((serving.dir ?? null) === (target.dir ?? null)) return; // nothing was switched
      const resolved = target.dir ? await resolveModel(name, path.join(target.dir, 'manifests')) : await resolveModel(name);
      const model = await vision.runtime.load(resolved);
      const old = vision.swapMesh(model);
      setTimeout(() => old.dispose(), 1000).unref();
      serving = { ...target, version: model.version };
      logger.warn({ model: name, version: serving.version }, 'update: reverted model serving');
    },
    commit(name) {
      check(name);
      const p = previous;
      previous = null;
      if (p) setTimeout(() => p.model.dispose(), 1000).unref();
    },
    health: opts.health,
    dispose() {
      previous?.model.dispose();
      previous = null;
    },
  };
}
