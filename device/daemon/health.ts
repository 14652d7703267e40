/**
 * What the daemon tells about itself: /healthz, the kiosk's stats message and the telemetry
 * snapshot, each read from the parts that are running (a part not started yet reads as null).
 */
import type { DegradationLadder, DegradedStep } from '../core/degraded.ts';
import { nowMs } from '../core/frame.ts';
import type { PipelineStats } from '../core/pipeline-stats.ts';
import type { FrameSource } from '../source/source.ts';
import type { SessionTracker } from '../telemetry/events.ts';
import type { MetricsSnapshot } from '../telemetry/mqtt-agent.ts';
import type { Outbox } from '../telemetry/outbox.ts';
import type { CatalogSlot } from '../tryon/catalog.ts';
import type { StatsMessage } from '../transport/events.ts';
import type { KioskServer } from '../transport/kiosk-server.ts';
import type { UpdateAgent } from '../update/agent.ts';
import type { FaceStage } from '../vision/face-stage.ts';
import { CATALOG_NAME } from '../tryon/catalog.ts';
import { redactUrl } from '../core/redact.ts';
import { PROFILE_NAME } from '../../calibration/colour/profile.ts';
import type { ColourStage } from './colour.ts';
import type { FramingMessage } from '../transport/events.ts';
import type { RunningAdvisor } from './advisor.ts';
import type { GanStage } from '../gan/gan-stage.ts';
import { APP_NAME, type ReleaseInfo } from '../release/layout.ts';

/** The running parts, filled in as start-up reaches them. */
export interface DaemonParts {
  startedAt: number;
  firmwareVersion: string;
  stats: PipelineStats;
  ladder: DegradationLadder;
  vision: FaceStage;
  catalogSlot: CatalogSlot;
  sourceSpec: string;
  kiosk?: KioskServer;
  source?: FrameSource;
  mqtt?: { url: string; embedded: boolean; connected: () => boolean; degraded: () => string[] };
  updates?: UpdateAgent;
  sessions?: SessionTracker;
  outbox?: Outbox;
  colour?: ColourStage;
  /** The virtual-mirror crop of the last frame (framing on), for /healthz. */
  framing?: () => FramingMessage | null;
  /** The beauty advisor (null: off in the config). */
  advisor?: RunningAdvisor | null;
  /** The GAN refinement (null: not configured or refused; the ladder says why). */
  gan?: GanStage | null;
  /** The application release this process runs (absent: a development checkout). */
  release?: ReleaseInfo;
}

/** Versions reported to the fleet: the models, and the serving catalog under "catalog". */
export function servingVersions(parts: DaemonParts): Record<string, string> {
  const colour = parts.colour?.version();
  return {
    ...parts.vision.modelVersions,
    [CATALOG_NAME]: parts.catalogSlot.current.catalog.version,
    // The colour profile travels to the fleet (status, metrics) beside the models it serves with.
    ...(colour ? { [PROFILE_NAME]: colour } : {}),
    // The application release (kind "app") the daemon itself runs from.
    ...(parts.release ? { [APP_NAME]: parts.release.version } : {}),
    // The GAN model serving beside them (while its stage is on).
    ...(parts.gan && parts.gan.mode !== 'off' ? { [parts.gan.health().model]: parts.gan.health().version } : {}),
  };
}

/** The serving catalog's counts for the fleet (the default shade stays on the mirror: /healthz has it). */
function catalogTelemetry(parts: DaemonParts): NonNullable<MetricsSnapshot['catalog']> {
  const { version, products, shades, looks, artifactId } = parts.catalogSlot.summary();
  return { version, products, shades, looks, artifactId };
}

export function statsMessage(parts: DaemonParts): StatsMessage {
  const snap = parts.stats.snapshot(nowMs());
  return {
    fps: snap.fps,
    latencyP50Ms: snap.latencyP50Ms,
    latencyP95Ms: snap.latencyP95Ms,
    droppedFrames: snap.droppedFrames,
    processedFrames: snap.processedFrames,
    backends: parts.vision.backends,
    source: parts.source?.description ?? parts.sourceSpec,
  };
}

/**
 * The ladder's steps plus the telemetry agent's own (broker unreachable, outbox full or failing to
 * write), which it tracks itself; they appear as component "telemetry" with `since` of first sight.
 */
function degradedSteps(parts: DaemonParts): DegradedStep[] {
  const telemetry = parts.mqtt?.degraded() ?? [];
  if (telemetry.length > 0) parts.ladder.set('telemetry', telemetry.join(', '));
  else parts.ladder.clear('telemetry');
  return parts.ladder.list();
}

export function metricsSnapshot(parts: DaemonParts): MetricsSnapshot {
  const u = parts.updates?.status();
  const s = parts.sessions?.snapshot();
  const colourProfile = parts.colour?.telemetry();
  return {
    ...statsMessage(parts),
    models: servingVersions(parts),
    catalog: catalogTelemetry(parts),
    ...(colourProfile ? { colourProfile } : {}),
    ...(u ? { update: u } : {}),
    ...(s ? { sessions: { started: s.sessions, productsTried: s.productsTried, looksSaved: s.looksSaved } } : {}),
    degraded: degradedSteps(parts),
  };
}

export function healthReport(parts: DaemonParts): Record<string, unknown> {
  const now = nowMs();
  const snap = parts.stats.snapshot(now);
  const frameAge = snap.lastFrameAgeMs;
  const degraded = degradedSteps(parts);
  return {
    // degraded: a part runs on a fallback (the list says which and why; a camera missing from the
    // start counts) or frames stopped; starting: no frame yet (models being timed, source opening).
    status: degraded.length > 0 ? 'degraded' : frameAge === null ? 'starting' : frameAge >= 2000 ? 'degraded' : 'ok',
    degraded,
    uptimeS: Math.round((now - parts.startedAt) / 1000),
    fps: snap.fps,
    lastFrameAgeMs: frameAge,
    latencyP50Ms: snap.latencyP50Ms,
    latencyP95Ms: snap.latencyP95Ms,
    paintLatencyP95Ms: snap.paintLatencyP95Ms,
    droppedFrames: snap.droppedFrames,
    // Frames a kiosk client did not get because it had not yet received the previous one.
    kioskSkippedFrames: parts.kiosk?.skippedFrames ?? 0,
    processedFrames: snap.processedFrames,
    stageErrors: snap.stageErrors,
    backends: parts.vision.backends,
    backendChoices: parts.vision.choices(),
    // Plain or attention mesh (vision.mesh), the timings compared and why.
    mesh: parts.vision.meshChoice(),
    models: servingVersions(parts),
    catalog: parts.catalogSlot.summary(),
    release: parts.release ? { version: parts.release.version, artifactId: parts.release.artifactId } : null,
    calibration: { colour: parts.colour?.summary() ?? null, ...(parts.framing && { framing: parts.framing() }) },
    // Counts and timings only: never the reading itself.
    advisor: parts.advisor?.summary() ?? null,
    // Mode (every-frame / every-nth / off), measured time per run, budget and why.
    gan: parts.gan?.health() ?? null,
    source: { spec: parts.sourceSpec, description: parts.source?.description ?? null, ...parts.source?.health() },
    mqtt: parts.mqtt ? { url: redactUrl(parts.mqtt.url), embedded: parts.mqtt.embedded, connected: parts.mqtt.connected() } : null,
    liveTensors: parts.vision.runtime.liveTensors(),
    update: parts.updates?.status() ?? null,
    outbox: parts.outbox?.stats() ?? null,
    sessions: parts.sessions?.snapshot() ?? null,
    firmwareVersion: parts.firmwareVersion,
  };
}
