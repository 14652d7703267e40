/**
 * Model, catalog, recommendation and colour-profile updates as the daemon starts them: over the telemetry connection, watched
 * against the live pipeline's numbers; state reports go through the outbox.
 */
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { TelemetryAgent } from '../telemetry/mqtt-agent.ts';
import { createUpdateAgent, type UpdateAgent } from '../update/agent.ts';
import { createTrendsHost } from '../advisor/trends-host.ts';
import { COLOUR_PROFILE_DOCUMENT } from '../../calibration/colour/document.ts';
import { createCatalogHost } from '../update/catalog-host.ts';
import { createDocumentHost } from '../update/document-host.ts';
import { createVisionModelHost } from '../update/model-host.ts';
import type { ServingModel } from '../update/store.ts';
import type { FaceStage } from '../vision/face-stage.ts';
import { createVisionPort, goldenFacesFromRuntime } from '../vision/update-port.ts';
import type { ColourStage } from './colour.ts';
import type { StartupKeys } from './secrets.ts';
import type { StopSteps } from './stop-steps.ts';
import type { UpdateBoot } from './update-boot.ts';
import { EXIT_RESTART } from '../commands/agent.ts';
import { createAppHost } from '../update/app-host.ts';
import { ReleaseLayout } from '../release/layout.ts';
import type { RunningRelease } from '../release/running.ts';

export interface UpdateInputs {
  boot: UpdateBoot;
  vision: FaceStage;
  /** The serving colour profile, swapped by its document host. */
  colour: ColourStage;
  servingModels: Record<string, ServingModel>;
  keys: StartupKeys;
  transport: TelemetryAgent;
  /** The live pipeline's numbers, for the smoke test and the watch window. */
  pipelineHealth: () => { processedFrames: number; stageErrors: number; fps: number };
  /** The application release this process runs (null: a development checkout, no application updates). */
  release: RunningRelease | null;
  /** Begins a clean stop that exits with `code` (main.ts); without it there are no application updates. */
  exit?: (code: number) => void;
}

export function startUpdates(config: MirrorConfig, inputs: UpdateInputs, stops: StopSteps, logger: Logger): UpdateAgent {
  const { vision, boot } = inputs;
  const scores = { detectorMinScore: config.vision.detectorMinScore, meshMinScore: config.vision.meshMinScore };
  const host = createVisionModelHost({
    vision: createVisionPort(vision, { latencyBudgetMs: config.updates.smokeLatencyBudgetMs, ...scores }),
    serving: inputs.servingModels,
    health: inputs.pipelineHealth,
    logger,
  });
  const catalogHost = createCatalogHost({
    slot: boot.catalogSlot,
    serving: boot.catalogModel,
    goldenFaces: () => goldenFacesFromRuntime(vision.runtime, scores),
    health: host.health,
    logger,
  });
  const release = inputs.release;
  const exit = inputs.exit;
  const appHost =
    release && exit
      ? createAppHost({
          layout: new ReleaseLayout(release.releasesDir),
          running: release,
          health: host.health,
          requestRestart: () => exit(EXIT_RESTART),
          daemonArgs: process.argv.slice(2),
          logger,
        })
      : undefined;
  if (release) logger.info({ version: release.info.version, release: release.dir }, 'running application release');
  const trendsHost = createTrendsHost({ slot: boot.trendsSlot, serving: boot.trendsModel, health: host.health, logger });
  const colourHost = createDocumentHost({ kind: COLOUR_PROFILE_DOCUMENT, slot: inputs.colour.documentSlot, serving: inputs.colour.serving, health: host.health, logger });
  const updates = createUpdateAgent({
    store: boot.store,
    host,
    // The application host exists only when this process runs from a release folder (else kind "app" is unsupported).
    documents: { catalog: catalogHost, recommendations: trendsHost, 'colour-profile': colourHost, ...(appHost ? { app: appHost } : {}) },
    address: { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId },
    publicKeys: inputs.keys.publicKeys,
    transport: inputs.transport,
    logger,
    chunkTimeoutMs: config.updates.chunkTimeoutMs,
    minFpsRatio: config.updates.minFpsRatio,
    maxStageErrorRatio: config.updates.maxStageErrorRatio,
    appMinFps: config.updates.appMinFps,
  });
  stops.add('updates', async () => {
    await updates.stop();
    host.dispose();
  });
  void updates.start();
  return updates;
}
