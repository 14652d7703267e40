/**
 * The one place that knows every stage: starts them in data-flow order, stops them in reverse.
 * source → vision → try-on → encode → transport, with telemetry and updates beside it. Each start
 * step lives in daemon/; this file only wires what one step hands the next.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { MirrorConfig } from './config/schema.ts';
import { DegradationLadder } from './core/degraded.ts';
import { LatestFrameSlot } from './core/flow-limiter.ts';
import { nowMs } from './core/frame.ts';
import { PipelineStats } from './core/pipeline-stats.ts';
import { redactSecrets } from './core/redact.ts';
import { healthReport, metricsSnapshot, statsMessage, type DaemonParts } from './daemon/health.ts';
import { readStartupKeys } from './daemon/secrets.ts';
import { startSessions } from './daemon/sessions.ts';
import { StopSteps } from './daemon/stop-steps.ts';
import { startTelemetry } from './daemon/telemetry.ts';
import { bootUpdates } from './daemon/update-boot.ts';
import { startUpdates } from './daemon/updates.ts';
import { startVision } from './daemon/vision.ts';
import { createJpegEncoder } from './encode/jpeg-encoder.ts';
import { Pipeline } from './pipeline.ts';
import { createSource, resolveSourceSpec } from './source/index.ts';
import { startKioskServer } from './transport/kiosk-server.ts';
import { createTryOnStage } from './tryon/tryon-stage.ts';
import { FrameTap } from './control/capture.ts';
import type { ControlTarget } from './control/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIRMWARE_VERSION = '0.1.0';

export interface Daemon {
  readonly kioskPort: number;
  /** What the mirror plays, e.g. "clip:… (12 images → 640x480 @30)". */
  readonly sourceDescription: string;
  /** Milliseconds since the last emitted frame; the systemd watchdog is only fed while frames flow. */
  lastFrameAgeMs(): number | null;
  /** What mirrorctl reaches through the control socket (device/control). */
  control: ControlTarget;
  stop(): Promise<void>;
}

export async function startDaemon(config: MirrorConfig, logger: Logger): Promise<Daemon> {
  const stops = new StopSteps(logger);
  try {
    // Keys and TLS files first: a bad one is a config error before anything starts.
    const keys = readStartupKeys(config);
    const boot = await bootUpdates(path.resolve(config.stateDir), logger);
    if (config.tryon.lipstick) {
      logger.warn({ productId: config.tryon.lipstick.productId }, 'tryon.lipstick pins the rendered shade: the catalog default (and catalog updates) are not rendered');
    }

    const ladder = new DegradationLadder();
    const { vision, servingMesh } = await startVision(config, boot.committedMesh, ladder, logger);
    stops.add('models', () => vision.dispose());

    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const parts: DaemonParts = {
      startedAt: nowMs(),
      firmwareVersion: FIRMWARE_VERSION,
      stats,
      ladder,
      vision,
      catalogSlot: boot.catalogSlot,
      sourceSpec: resolveSourceSpec(config.source),
    };

    // Transport before the source, so the kiosk can connect while the source spins up.
    const kiosk = await startKioskServer({
      host: config.host,
      port: config.port,
      uiDir: path.join(repoRoot, 'ui', 'dist'),
      allowedOrigins: config.kiosk.allowedOrigins,
      // Secrets never reach /healthz (or mirrorctl, which reads it), whatever field holds them.
      health: () => redactSecrets(healthReport(parts)),
      onPainted: (capturedAt, paintedAt) => stats.recordPaint(capturedAt, paintedAt),
      logger,
    });
    parts.kiosk = kiosk;
    stops.add('kiosk server', () => kiosk.close());
    logger.info({ host: config.host, port: kiosk.port, url: `http://${config.host}:${kiosk.port}/` }, 'kiosk listening');
    const statsTimer = setInterval(() => kiosk.emitStats(statsMessage(parts)), 1000);
    stops.add('stats timer', () => clearInterval(statsTimer));

    const telemetry = await startTelemetry(
      config,
      keys,
      {
        firmwareVersion: FIRMWARE_VERSION,
        snapshot: () => metricsSnapshot(parts),
        onUpdateMessage: (subtopic, payload) => parts.updates?.handleMessage(subtopic, payload),
        onConnect: () => parts.updates?.onConnect(),
      },
      stops,
      logger,
    );
    parts.outbox = telemetry.outbox;
    parts.mqtt = { url: telemetry.brokerUrl, embedded: telemetry.embedded, connected: () => telemetry.agent.connected };
    parts.updates = startUpdates(
      config,
      { boot, vision, servingMesh, keys, transport: telemetry.agent, pipelineHealth: () => stats.snapshot(nowMs()) },
      stops,
      logger,
    );
    const sessions = startSessions(config, telemetry.agent, stops, logger);
    parts.sessions = sessions;

    // Replaced in place by a config reload (encode.quality, tryon); the pipeline calls through.
    let tryOn = createTryOnStage(config.tryon, boot.catalogSlot);
    let encode = createJpegEncoder(config.encode.quality);
    const frameTap = new FrameTap();
    const pipeline = new Pipeline(
      slot,
      {
        vision: (frame) => vision.tracker.process(frame),
        tryOn: (frame, faces) => tryOn(frame, faces),
        encode: (frame) => encode(frame),
        emit: (frame) => {
          frameTap.offer(frame.image);
          sessions.observe(frame.faces.length, frame.applied, Date.now());
          kiosk.emitFrame(frame);
        },
      },
      stats,
      logger,
    );
    pipeline.start();
    stops.add('pipeline', async () => {
      slot.close();
      await pipeline.stopped();
    });

    // Source last: frames flow only once every consumer is ready; it stops first.
    const source = createSource(config.source, config.capture, logger);
    parts.source = source;
    await source.start(
      (frame) => slot.offer(frame),
      (status) => {
        // Camera lost: listed in /healthz and /metrics, and the kiosk shows a service message.
        if (status.state === 'lost') ladder.set('camera', status.reason ?? 'no frames');
        else ladder.clear('camera');
        kiosk.emitSourceStatus(status);
      },
    );
    stops.add('source', () => source.stop());
    logger.info({ source: source.description }, 'pipeline running');

    return {
      kioskPort: kiosk.port,
      sourceDescription: source.description,
      lastFrameAgeMs: () => stats.snapshot(nowMs()).lastFrameAgeMs,
      control: {
        health: () => redactSecrets(healthReport(parts)),
        reconfigure: (next) => {
          logger.level = next.logLevel;
          sessions.idleTimeoutMs = next.session.idleTimeoutMs;
          tryOn = createTryOnStage(next.tryon, boot.catalogSlot);
          encode = createJpegEncoder(next.encode.quality);
        },
        frames: frameTap,
        confirm: (prompt) => kiosk.confirm(prompt),
      },
      stop: () => stops.runAll(),
    };
  } catch (err) {
    await stops.runAll();
    throw err;
  }
}
