/**
 * The one place that knows every stage: starts them in data-flow order, stops them in reverse.
 * source → vision → try-on → encode → transport, with telemetry and updates beside it, and the
 * shopper's selection (fed by the kiosk's commands) read by the try-on stage. Each start
 * step lives in daemon/; this file only wires what one step hands the next.
 *
 * Length: startDaemon (~90 lines) is straight-line wiring in data-flow order, one call per start step;
 * splitting it would hide the order that is the point of this file.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { MirrorConfig } from './config/schema.ts';
import { DegradationLadder } from './core/degraded.ts';
import { LatestFrameSlot } from './core/flow-limiter.ts';
import { nowMs } from './core/frame.ts';
import { PipelineStats } from './core/pipeline-stats.ts';
import { redactSecrets } from './core/redact.ts';
import { healthReport, metricsSnapshot, type DaemonParts } from './daemon/health.ts';
import { readStartupKeys } from './daemon/secrets.ts';
import { enrolOnStart } from './enrol/first-start.ts';
import { startSessions } from './daemon/sessions.ts';
import { StopSteps } from './daemon/stop-steps.ts';
import { startTelemetry } from './daemon/telemetry.ts';
import { bootUpdates } from './daemon/update-boot.ts';
import { startUpdates } from './daemon/updates.ts';
import { runningRelease } from './release/running.ts';
import { startVision } from './daemon/vision.ts';
import { startColour } from './daemon/colour.ts';
import { startGan } from './daemon/gan.ts';
import { createDaemonMetrics } from './daemon/metrics.ts';
import { startFrameSource, startPipeline } from './daemon/frame-path.ts';
import { resolveSourceSpec } from './source/index.ts';
import { startTransport } from './daemon/transport.ts';
import { startTryOnControl } from './daemon/tryon.ts';
import { startAdvisor, type RunningAdvisor } from './daemon/advisor.ts';
import { startCommands, type DaemonHooks } from './daemon/commands.ts';
import type { TelemetryAgent } from './telemetry/mqtt-agent.ts';
import type { ControlTarget } from './control/index.ts';
import { checkPin } from './tryon/catalog.ts';

export const FIRMWARE_VERSION = '0.1.0';

export interface Daemon {
  readonly kioskPort: number;
  /** The source spec with `auto` resolved, e.g. "v4l2:/dev/video0". */
  readonly sourceSpec: string;
  /** What the mirror plays, e.g. "clip:… (12 images → 640x480 @30)". */
  readonly sourceDescription: string;
  /** Milliseconds since the last emitted frame; the systemd watchdog is only fed while frames flow. */
  lastFrameAgeMs(): number | null;
  /** What mirrorctl reaches through the control socket (device/control). */
  control: ControlTarget;
  stop(): Promise<void>;
}

export async function startDaemon(config: MirrorConfig, logger: Logger, hooks: DaemonHooks = {}): Promise<Daemon> {
  const stops = new StopSteps(logger);
  try {
    // A mirror not enrolled yet gets its certificate first (config mqtt.enrol; never fatal).
    await enrolOnStart(config, logger);
    // Keys and TLS files first: a bad one is a config error before anything starts.
    const keys = readStartupKeys(config);
    const release = await runningRelease();
    const boot = await bootUpdates(path.resolve(config.stateDir), logger, release?.releasesDir);
    if (config.tryon.pin) {
      const pinned = checkPin(boot.catalogSlot.current.catalog, config.tryon.pin);
      logger.warn({ productId: pinned.product.id, shadeId: pinned.shade.id }, "tryon.pin replaces the catalog's default shade on the shopper's face");
    }

    const ladder = new DegradationLadder();
    const colour = await startColour(config, ladder, logger, boot.committedColourProfile);
    const { vision, servingModels } = await startVision(config, boot.committedModels, ladder, logger);
    stops.add('models', () => vision.dispose());
    const gan = await startGan(config, ladder, stops, logger);

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
      colour,
      gan,
      ...(release ? { release: release.info } : {}),
    };
    const metrics = createDaemonMetrics(parts);

    // Transport before the source, so the kiosk can connect while the source spins up.
    const kiosk = await startTransport(config, parts, metrics, stops, logger);
    parts.kiosk = kiosk;

    // Fleet commands before telemetry: a command on the first connection finds its agent.
    let telemetryAgent: TelemetryAgent | undefined;
    const commands = startCommands(config, { keys, vision, stats, telemetry: () => telemetryAgent, levelled: logger, hooks }, stops, logger);
    const telemetry = await startTelemetry(
      config,
      keys,
      {
        firmwareVersion: FIRMWARE_VERSION,
        snapshot: () => metricsSnapshot(parts),
        onUpdateMessage: (subtopic, payload) => parts.updates?.handleMessage(subtopic, payload),
        onCommand: (subtopic, payload) => commands.handle(subtopic, payload),
        onConnect: () => parts.updates?.onConnect(),
      },
      stops,
      logger,
    );
    telemetryAgent = telemetry.agent;
    parts.outbox = telemetry.outbox;
    parts.mqtt = {
      url: telemetry.brokerUrl,
      embedded: telemetry.embedded,
      connected: () => telemetry.agent.connected,
      degraded: () => telemetry.agent.health().degraded,
    };
    parts.updates = startUpdates(
      config,
      { boot, vision, colour, servingModels, keys, transport: telemetry.agent, pipelineHealth: () => stats.snapshot(nowMs()), release, exit: hooks.exit },
      stops,
      logger,
    );
    // The advisor is started after the sessions it is wiped by; events read its tags late.
    let advisor: RunningAdvisor | null = null;
    const sessions = startSessions(config, telemetry.agent, stops, logger, () => advisor?.toneTags() ?? null);
    parts.sessions = sessions;
    const tryOnControl = startTryOnControl(config, { catalogSlot: boot.catalogSlot, sessions, kiosk }, logger);
    advisor = startAdvisor(config, { kiosk, sessions, catalogSlot: boot.catalogSlot, trends: boot.trendsSlot }, logger);
    parts.advisor = advisor;

    const running = startPipeline(
      config,
      { slot, stats, vision, colour, catalogSlot: boot.catalogSlot, selection: () => tryOnControl.selection.forStage(), sessions, kiosk, observeEmit: metrics.observeEmit, advisor, gan },
      stops,
      logger,
    );
    parts.framing = running.framing;
    // Source last: frames flow only once every consumer is ready; it stops first.
    const source = await startFrameSource(config, { slot, ladder, kiosk }, stops, logger);
    parts.source = source;

    return {
      kioskPort: kiosk.port,
      sourceSpec: parts.sourceSpec,
      sourceDescription: source.description,
      lastFrameAgeMs: () => stats.snapshot(nowMs()).lastFrameAgeMs,
      control: {
        health: () => redactSecrets(healthReport(parts)),
        reconfigure: (next) => {
          logger.level = next.logLevel;
          sessions.idleTimeoutMs = next.session.idleTimeoutMs;
          running.reconfigure(next);
          tryOnControl.reconfigure(next);
        },
        frames: running.frameTap,
        confirm: (prompt) => kiosk.confirm(prompt),
      },
      stop: () => stops.runAll(),
    };
  } catch (err) {
    await stops.runAll();
    throw err;
  }
}
