/** Builds the vision stage from config: verified models on the chosen runtime, wrapped in the tracker. */
import { resolveModel } from '../../models/registry.ts';
import type { MirrorConfig } from '../config/schema.ts';
import { FaceDetector } from './detector.ts';
import { FaceTracker } from './face-tracker.ts';
import { FaceMesh } from './mesh.ts';
import type { InferenceRuntime, LoadedModel } from './runtime/runtime.ts';
import { createTfjsRuntime } from './runtime/tfjs-runtime.ts';
import type { Logger } from '../core/logger.ts';


export interface FaceStage {
  tracker: FaceTracker;
  runtime: InferenceRuntime;
  /** Model name → backend running it. */
  backends: Record<string, string>;
  /** Model name → version. */
  modelVersions: Record<string, string>;
  dispose(): void;
}

export async function createFaceStage(vision: MirrorConfig['vision'], logger: Logger): Promise<FaceStage> {
  const runtime = await createTfjsRuntime(vision.backend, logger);
  const models: LoadedModel[] = [];
  try {
    const detectorModel = await runtime.load(await resolveModel('face-detector'));
    models.push(detectorModel);
    const meshModel = await runtime.load(await resolveModel('face-mesh'));
    models.push(meshModel);
    const detector = new FaceDetector(detectorModel, { minScore: vision.detectorMinScore, iouThreshold: 0.3 });
    const tracker = new FaceTracker(detector, new FaceMesh(meshModel), {
      minMeshScore: vision.meshMinScore,
      cropScale: 1.5,
      detectionCropScale: 1.6,
    });
    return {
      tracker,
      runtime,
      backends: { detector: detectorModel.backend, mesh: meshModel.backend },
      modelVersions: Object.fromEntries(models.map((m) => [m.name, m.version])),
      dispose: () => models.forEach((m) => m.dispose()),
    };
  } catch (err) {
    models.forEach((m) => m.dispose());
    throw err;
  }
}
