/**
 * The one place that knows every stage: starts them in data-flow order, stops them in reverse.
 * source → vision → try-on → overlay → transport, with telemetry beside it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { MirrorConfig } from './config/schema.ts';
import { LatestFrameSlot } from './core/flow-limiter.ts';
import { nowMs } from './core/frame.ts';
import { PipelineStats } from './core/pipeline-stats.ts';
import { createTryOnStage } from './tryon/tryon-stage.ts';
import { createFaceStage } from './vision/face-stage.ts';
import { createJpegEncoder } from './overlay/jpeg-encoder.ts';
import { Pipeline } from './pipeline.ts';
import { createSource, resolveSourceSpec } from './source/index.ts';
import type { FrameSource } from './source/source.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './telemetry/embedded-broker.ts';
import { createTelemetryAgent, type TelemetryAgent } from './telemetry/mqtt-agent.ts';
import { startKioskServer, type KioskServer } from './transport/kiosk-server.ts';
import type { PipelineStats as StatsMessage } from './transport/events.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIRMWARE_VERSION = '0.1.0';

export interface Daemon {
  readonly kioskPort: number;
  /** Seconds since the last emitted frame; the systemd watchdog is only fed while frames flow. */
  lastFrameAgeMs(): number | null;
  stop(): Promise<void>;
}

export async function startDaemon(config: MirrorConfig, logger: Logger): Promise<Daemon> {
  const startedAt = nowMs();
  const stopSteps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  const stopAll = async () => {
    for (const step of stopSteps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        logger.error({ step: step.name, err: (err as Error).message }, 'stop step failed');
      }
    }
  };

  try {
    // Vision: models are verified against their manifests before any runtime sees them.
    const vision = await createFaceStage(config.vision, logger);
    stopSteps.push({ name: 'models', run: () => vision.dispose() });
    const { tracker, runtime, backends, modelVersions } = vision;
    logger.info({ backends, models: modelVersions }, 'models loaded');

    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const sourceSpec = resolveSourceSpec(config.source);
    let source: FrameSource | null = null;
    let mqttState: { url: string; embedded: boolean; connected: () => boolean } | null = null;

    const health = () => {
      const now = nowMs();
      const snap = stats.snapshot(now);
      const frameAge = snap.lastFrameAgeMs;
      return {
        status: frameAge !== null && frameAge < 2000 ? 'ok' : 'degraded',
        uptimeS: Math.round((now - startedAt) / 1000),
        fps: snap.fps,
        lastFrameAgeMs: frameAge,
        latencyP50Ms: snap.latencyP50Ms,
        latencyP95Ms: snap.latencyP95Ms,
        paintLatencyP95Ms: snap.paintLatencyP95Ms,
        droppedFrames: snap.droppedFrames,
        processedFrames: snap.processedFrames,
        stageErrors: snap.stageErrors,
        backends,
        models: modelVersions,
        source: { spec: sourceSpec, description: source?.description ?? null, ...source?.health() },
        mqtt: mqttState && { url: mqttState.url, embedded: mqttState.embedded, connected: mqttState.connected() },
        liveTensors: runtime.liveTensors(),
        firmwareVersion: FIRMWARE_VERSION,
      };
    };

    // Transport first so the kiosk can connect while the source spins up.
    const kiosk: KioskServer = await startKioskServer({
      host: config.host,
      port: config.port,
      uiDir: path.join(repoRoot, 'ui', 'dist'),
      health,
      onPainted: (msg) => {
        const capturedAt = capturedAtById.get(msg.id);
        if (capturedAt !== undefined) stats.recordPaint(capturedAt, msg.paintedAt);
      },
      logger,
    });
    stopSteps.push({ name: 'kiosk server', run: () => kiosk.close() });
    logger.info({ host: config.host, port: kiosk.port, url: `http://${config.host}:${kiosk.port}/` }, 'kiosk listening');

    // Capture times of recent frames, so the kiosk's "painted" acks give capture-to-paint latency.
    const capturedAtById = new Map<number, number>();
    const tryOn = createTryOnStage(config.tryon);
    const encode = createJpegEncoder(config.encode.quality);
    const pipeline = new Pipeline(
      slot,
      {
        vision: (frame) => tracker.process(frame),
        tryOn,
        encode,
        emit: (message) => {
          capturedAtById.set(message.id, message.capturedAt);
          if (capturedAtById.size > 120) capturedAtById.delete(capturedAtById.keys().next().value!);
          kiosk.emitFrame(message);
        },
      },
      stats,
      logger,
    );

    const statsMessage = (): StatsMessage => {
      const snap = stats.snapshot(nowMs());
      return {
        fps: snap.fps,
        latencyP50Ms: snap.latencyP50Ms,
        latencyP95Ms: snap.latencyP95Ms,
        droppedFrames: snap.droppedFrames,
        processedFrames: snap.processedFrames,
        backends,
        source: source?.description ?? sourceSpec,
      };
    };
    const statsTimer = setInterval(() => kiosk.emitStats(statsMessage()), 1000);
    stopSteps.push({ name: 'stats timer', run: () => clearInterval(statsTimer) });

    // Telemetry: an embedded broker keeps the one-machine demo self-contained.
    let brokerUrl = config.mqtt.url;
    if (!brokerUrl) {
      const broker: EmbeddedBroker = await startEmbeddedBroker({ port: config.mqtt.embeddedPort, logger });
      stopSteps.push({ name: 'embedded broker', run: () => broker.close() });
      brokerUrl = broker.url;
    }
    const agent: TelemetryAgent = createTelemetryAgent({
      url: brokerUrl,
      storeId: config.mqtt.storeId,
      deviceId: config.mqtt.deviceId,
      firmwareVersion: FIRMWARE_VERSION,
      intervalMs: config.mqtt.metricsIntervalMs,
      stateDir: path.resolve(config.stateDir),
      username: config.mqtt.username,
      password: config.mqtt.password,
      snapshot: () => ({ ...statsMessage(), models: modelVersions }),
      // Leaves room in the 3 s stop budget for the source, pipeline and servers.
      stopTimeoutMs: 1000,
      logger,
    });
    mqttState = { url: brokerUrl, embedded: !config.mqtt.url, connected: () => agent.connected };
    await agent.start();
    stopSteps.push({ name: 'telemetry', run: () => agent.stop() });

    // Source last: frames flow only once every consumer is ready; it stops first.
    source = createSource(config.source, config.capture, logger);
    pipeline.start();
    stopSteps.push({
      name: 'pipeline',
      run: async () => {
        slot.close();
        await pipeline.stopped();
      },
    });
    await source.start((frame) => slot.offer(frame));
    const runningSource = source;
    stopSteps.push({ name: 'source', run: () => runningSource.stop() });
    logger.info({ source: source.description }, 'pipeline running');

    return {
      kioskPort: kiosk.port,
      lastFrameAgeMs: () => stats.snapshot(nowMs()).lastFrameAgeMs,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
