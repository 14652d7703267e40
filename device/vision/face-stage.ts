/** Builds the vision stage from config: verified models on the chosen runtime, wrapped in the tracker. */
import type { ResolvedModel } from '../../models/registry.ts';
import type { MirrorConfig } from '../config/schema.ts';
import { FaceDetector } from './detector.ts';
import { FaceTracker } from './face-tracker.ts';
import { FaceMesh } from './mesh.ts';
import type { InferenceRuntime, LoadedModel } from './runtime/runtime.ts';
import { createModelLoader, type ModelChoice, type ModelLoader } from './runtime/select.ts';
import type { Logger } from '../core/logger.ts';
import { IrisModel } from './iris.ts';
import { PersonSegmenter } from './segmentation.ts';
import { smoothingFrom } from './smoothing.ts';


export interface FaceStage {
  tracker: FaceTracker;
  /** The tracker's face detector, for scans beside tracking (device/framing looks for a second person). */
  detector: FaceDetector;
  runtime: InferenceRuntime;
  /** Model name → backend running it. */
  backends: Record<string, string>;
  /** Model name → version. */
  modelVersions: Record<string, string>;
  /**
   * Model update hook: the tracker's mesh runs on `model` from the next frame; `backends` and
   * `modelVersions` follow. Returns the previous model, still loaded (the caller disposes it).
   */
  swapMesh(model: LoadedModel): LoadedModel;
  /**
   * Person segmentation while `when()` holds (hair colour on). With vision.segmentationEvery = 0 the
   * model is loaded on the first frame that wants it (in the background: frames keep flowing, the
   * mask follows once loaded) and then runs every ON_DEMAND_EVERY frames while wanted; with
   * segmentationEvery > 0 it already runs on every Nth frame and this changes nothing.
   */
  segmentOnDemand(when: () => boolean): void;
  /** Backend chosen per model and how fast it measured when chosen. */
  choices(): Record<string, ModelChoice>;
  dispose(): void;
}

export interface FaceStageOptions {
  /** Where the per-host backend choice (and TensorRT engines) are cached. */
  stateDir: string;
  /** A mesh to serve instead of the bundled one (a committed update); the bundled one if it fails to load. */
  mesh?: () => Promise<ResolvedModel>;
}

async function loadMesh(loader: ModelLoader, options: FaceStageOptions, logger: Logger): Promise<LoadedModel> {
  if (options.mesh) {
    try {
      return await loader.loadResolved(await options.mesh());
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'updated face-mesh model does not load; serving the bundled one');
    }
  }
  return loader.load('face-mesh');
}

/** NHWC input shapes of the segmentation models (their manifests say the same). */
const SEGMENTATION_INPUT = { selfie: [1, 256, 256, 3], meet: [1, 144, 256, 3] } as const;
/** On-demand segmentation rate: hair moves slowly, the mask is reused on the frame in between. */
export const ON_DEMAND_EVERY = 2;

export async function createFaceStage(vision: MirrorConfig['vision'], logger: Logger, options: FaceStageOptions): Promise<FaceStage> {
  // Each model on the fastest backend this host has (timed once, cached per host in stateDir).
  const loader = await createModelLoader({ backend: vision.backend, providers: vision.providers, stateDir: options.stateDir, logger });
  const runtime = loader.asRuntime();
  const models: LoadedModel[] = [];
  try {
    const detectorModel = await loader.load('face-detector');
    models.push(detectorModel);
    let meshModel = await loadMesh(loader, options, logger);
    models.push(meshModel);
    const detector = new FaceDetector(detectorModel, { minScore: vision.detectorMinScore });
    const backends: Record<string, string> = { detector: detectorModel.backend, mesh: meshModel.backend };
    let iris: IrisModel | undefined;
    if (vision.iris) {
      const model = await loader.load('iris');
      models.push(model);
      iris = new IrisModel(model);
      backends.iris = model.backend;
    }
    const loadSegmenter = async (every: number): Promise<PersonSegmenter> => {
      const model = await loader.load(vision.segmentationModel === 'meet' ? 'segmentation-meet' : 'segmentation');
      models.push(model);
      backends.segmentation = model.backend;
      return new PersonSegmenter(model, SEGMENTATION_INPUT[vision.segmentationModel], { every });
    };
    const segmenter = vision.segmentationEvery > 0 ? await loadSegmenter(vision.segmentationEvery) : undefined;
    const tracker = new FaceTracker(detector, new FaceMesh(meshModel), {
      minMeshScore: vision.meshMinScore,
      smoothing: smoothingFrom(vision.smoothing),
      iris,
      segmenter,
    });
    const modelVersions = Object.fromEntries(models.map((m) => [m.name, m.version]));
    return {
      tracker,
      detector,
      runtime,
      backends,
      modelVersions,
      swapMesh(model) {
        const previous = meshModel;
        tracker.replaceMesh(new FaceMesh(model));
        meshModel = model;
        models[models.indexOf(previous)] = model;
        backends.mesh = model.backend;
        delete modelVersions[previous.name];
        modelVersions[model.name] = model.version;
        return previous;
      },
      segmentOnDemand(when) {
        if (segmenter) return;
        let loading: Promise<void> | null = null;
        tracker.segmentWhen(() => {
          if (when() && !loading) {
            loading = loadSegmenter(ON_DEMAND_EVERY).then(
              (loaded) => {
                modelVersions[loaded.model.name] = loaded.model.version;
                tracker.segmentWhen(when, loaded);
              },
              (err: Error) => logger.error({ err: err.message }, 'segmentation model does not load; hair colour stays off'),
            );
          }
          return false;
        });
      },
      choices: () => loader.choices(),
      dispose: () => models.forEach((m) => m.dispose()),
    };
  } catch (err) {
    models.forEach((m) => m.dispose());
    throw err;
  }
}
