/** Builds the vision stage from config: verified models on the chosen runtime, wrapped in the tracker. */
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
import { chooseMesh, type MeshChoice } from './mesh-choice.ts';
import type { HostInfo } from './runtime/host.ts';


export interface FaceStage {
  tracker: FaceTracker;
  /** The tracker's face detector, for scans beside tracking (device/framing looks for a second person). */
  detector: FaceDetector;
  runtime: InferenceRuntime;
  /** Model name → backend running it. */
  backends: Record<string, string>;
  /** Model name → version. */
  modelVersions: Record<string, string>;
  /** The models an over-the-air update may replace here (those this stage runs, or loads on demand). */
  updatable: readonly string[];
  /**
   * Model update hook: model `name` (face-detector, face-mesh, iris, segmentation[-meet]) runs on
   * `model` from the next frame; `backends` and `modelVersions` follow. Returns the previous model,
   * still loaded (the caller disposes it), or null when none was loaded yet (on-demand segmentation).
   */
  swapModel(name: string, model: LoadedModel): LoadedModel | null;
  /**
   * Person segmentation while `when()` holds (hair colour on). With vision.segmentationEvery = 0 the
   * model is loaded on the first frame that wants it (in the background: frames keep flowing, the
   * mask follows once loaded) and then runs every ON_DEMAND_EVERY frames while wanted; with
   * segmentationEvery > 0 it already runs on every Nth frame and this changes nothing.
   */
  segmentOnDemand(when: () => boolean): void;
  /**
   * Loads model `name` as this stage loads its own: on the backend and variant chosen for it, from
   * `manifestDir` (a staged or committed update) or the bundled models. Not yet serving.
   */
  loadModel(name: string, manifestDir?: string): Promise<LoadedModel>;
  /** Backend chosen per model and how fast it measured when chosen. */
  choices(): Record<string, ModelChoice>;
  /** Which face mesh serves (plain or attention) and why. */
  meshChoice(): MeshChoice;
  dispose(): void;
}

export interface FaceStageOptions {
  /** Where the per-host backend choice (and TensorRT engines) are cached. */
  stateDir: string;
  /**
   * Models to serve instead of the bundled ones (committed updates): model name → the registry
   * directory (`<update>/manifests`) holding it. Its backend and variant are chosen like the
   * bundled model's, among what that directory holds (never the bundled model's variants); the
   * bundled one serves when an update fails to load.
   */
  updates?: Partial<Record<string, string>>;
  /** The host the mesh timings are cached for (tests: another CPU); probed when absent. */
  host?: Pick<HostInfo, 'cpuModel' | 'cores' | 'gpu'>;
}

/** The committed update of `name` if there is one and it loads, else the bundled model on its chosen backend. */
async function loadServing(name: string, loader: ModelLoader, options: FaceStageOptions, logger: Logger): Promise<LoadedModel> {
  const update = options.updates?.[name];
  if (update) {
    try {
      return await loader.load(name, update);
    } catch (err) {
      logger.error({ model: name, err: (err as Error).message }, 'updated model does not load; serving the bundled one');
    }
  }
  return loader.load(name);
}

const ROLE_OF: Record<string, 'detector' | 'mesh' | 'iris' | 'segmentation'> = {
  'face-detector': 'detector',
  'face-mesh': 'mesh',
  'attention-mesh': 'mesh',
  iris: 'iris',
  segmentation: 'segmentation',
  'segmentation-meet': 'segmentation',
};
/** On-demand segmentation rate: hair moves slowly, the mask is reused on the frame in between. */
export const ON_DEMAND_EVERY = 2;

export async function createFaceStage(vision: MirrorConfig['vision'], logger: Logger, options: FaceStageOptions): Promise<FaceStage> {
  // Each model on the fastest backend this host has (timed once, cached per host in stateDir).
  const loader = await createModelLoader({
    backend: vision.backend,
    providers: vision.providers,
    precision: vision.precision,
    accuracyBudget: vision.accuracyBudget,
    stateDir: options.stateDir,
    logger,
  });
  const runtime = loader.asRuntime();
  const models: LoadedModel[] = [];
  try {
    const detectorModel = await loadServing('face-detector', loader, options, logger);
    models.push(detectorModel);
    const { model: meshModel, choice: meshChoice } = await chooseMesh(vision.mesh, vision.attentionMaxCost, {
      load: (name) => loadServing(name, loader, options, logger),
      logger,
      stateDir: options.stateDir,
      host: options.host,
    });
    models.push(meshModel);
    const detector = new FaceDetector(detectorModel, { minScore: vision.detectorMinScore });
    const backends: Record<string, string> = { detector: detectorModel.backend, mesh: meshModel.backend };
    let iris: IrisModel | undefined;
    // The attention mesh brings its own irises: the iris model runs only beside the plain mesh.
    if (vision.iris && meshModel.manifest.decode.kind !== 'attention-mesh') {
      const model = await loadServing('iris', loader, options, logger);
      models.push(model);
      iris = new IrisModel(model);
      backends.iris = model.backend;
    }
    const segmentationName = vision.segmentationModel === 'meet' ? 'segmentation-meet' : 'segmentation';
    /** An update activated before on-demand segmentation first loaded: served when it does. */
    let pendingSegmentation: LoadedModel | null = null;
    let segmenter: PersonSegmenter | undefined;
    const loadSegmenter = async (every: number): Promise<PersonSegmenter> => {
      const model = pendingSegmentation ?? (await loadServing(segmentationName, loader, options, logger));
      if (model !== pendingSegmentation) models.push(model); // a pending update is in `models` already
      pendingSegmentation = null;
      backends.segmentation = model.backend;
      segmenter = new PersonSegmenter(model, { every });
      return segmenter;
    };
    if (vision.segmentationEvery > 0) await loadSegmenter(vision.segmentationEvery);
    const fixedSegmenter = segmenter;
    const tracker = new FaceTracker(detector, new FaceMesh(meshModel), {
      minMeshScore: vision.meshMinScore,
      smoothing: smoothingFrom(vision.smoothing),
      iris,
      segmenter: fixedSegmenter,
    });
    const modelVersions = Object.fromEntries(models.map((m) => [m.name, m.version]));
    /** Puts `model` into the part that runs model `name`; the previous model (null: none loaded yet). */
    const swapInto = (name: string, model: LoadedModel): LoadedModel | null => {
      switch (ROLE_OF[name]) {
        case 'detector':
          return detector.swap(model);
        case 'mesh':
          return tracker.replaceMesh(new FaceMesh(model)).model;
        case 'iris':
          if (!iris) throw new Error('iris refinement is off on this mirror');
          return iris.swap(model);
        case 'segmentation': {
          if (name !== segmentationName) throw new Error(`this mirror segments with ${segmentationName}, not ${name}`);
          if (segmenter) return segmenter.swap(model);
          const previous = pendingSegmentation;
          pendingSegmentation = model;
          return previous;
        }
        default:
          throw new Error(`no vision part runs model "${name}"`);
      }
    };
    return {
      tracker,
      detector,
      runtime,
      backends,
      modelVersions,
      updatable: ['face-detector', meshChoice.serving, ...(iris ? ['iris'] : []), segmentationName],
      swapModel(name, model) {
        const previous = swapInto(name, model);
        if (previous) models.splice(models.indexOf(previous), 1);
        models.push(model);
        backends[ROLE_OF[name]] = model.backend;
        if (previous) delete modelVersions[previous.name];
        modelVersions[model.name] = model.version;
        return previous;
      },
      segmentOnDemand(when) {
        if (fixedSegmenter) return;
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
      loadModel: (name, manifestDir) => loader.load(name, manifestDir),
      choices: () => loader.choices(),
      meshChoice: () => structuredClone(meshChoice),
      dispose: () => models.forEach((m) => m.dispose()),
    };
  } catch (err) {
    models.forEach((m) => m.dispose());
    throw err;
  }
}
