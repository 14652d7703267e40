/**
 * The vision stage as the daemon starts it: models verified and loaded on the fastest backend,
 * the committed update of each model if it loads (else the bundled one), and the fallbacks taken on the
 * degradation ladder.
 */
import path from 'node:path';
import type { MirrorConfig } from '../config/schema.ts';
import type { DegradationLadder } from '../core/degraded.ts';
import type { Logger } from '../core/logger.ts';
import type { ServingModel } from '../update/store.ts';
import { createFaceStage, type FaceStage } from '../vision/face-stage.ts';
import { probeHost, type HostInfo } from '../vision/runtime/host.ts';

const GPU_BACKEND = /^(onnx-(cuda|tensorrt)|tfjs-node-gpu)$/;

export interface StartedVision {
  vision: FaceStage;
  /** The mesh that serves (plain or attention: vision.mesh), as the update agent knows it. */
  servingMesh: ServingModel;
  /** Every model the stage runs, as the update agent knows it. */
  servingModels: Record<string, ServingModel>;
}

export async function startVision(
  config: MirrorConfig,
  committed: Record<string, ServingModel | null>,
  ladder: DegradationLadder,
  logger: Logger,
  /** What the host has (injectable: a test box has no GPU). */
  probe: () => Promise<Pick<HostInfo, 'gpu'>> = probeHost,
): Promise<StartedVision> {
  const updates: Record<string, string> = {};
  for (const [name, c] of Object.entries(committed)) if (c?.dir) updates[name] = path.join(c.dir, 'manifests');
  const vision = await createFaceStage(config.vision, logger, { stateDir: path.resolve(config.stateDir), updates });
  const servingModels: Record<string, ServingModel> = {};
  for (const name of vision.updatable) {
    const c = committed[name];
    const version = vision.modelVersions[name] ?? 'unknown';
    const updateServes = !!c?.dir && version === c.version;
    // On-demand segmentation is not loaded yet: its committed update is what it will load.
    const notLoaded = vision.modelVersions[name] === undefined;
    if (c?.dir && !updateServes && !notLoaded) ladder.set(`model:${name}`, `committed update ${c.version} does not load; serving ${version}`);
    servingModels[name] = updateServes || (c?.dir && notLoaded) ? c! : { version, dir: null };
  }
  // A host without a GPU is normal (CPU is the reference machine); one whose GPU is not used is not.
  const { backend, providers } = config.vision;
  const gpuWanted = backend === 'tfjs-node-gpu' || ((backend === 'auto' || backend === 'onnx') && providers.some((p) => p !== 'cpu'));
  const host = await probe();
  const onCpu = Object.entries(vision.backends).filter(([, backend]) => !GPU_BACKEND.test(backend));
  if (gpuWanted && host.gpu && onCpu.length > 0) {
    ladder.set('inference', `GPU ${host.gpu} present but ${onCpu.map(([model, backend]) => `${model} runs on ${backend}`).join(', ')}`);
  }
  logger.info({ backends: vision.backends, models: vision.modelVersions }, 'models loaded');
  return { vision, servingMesh: servingModels[vision.meshChoice().serving], servingModels };
}
