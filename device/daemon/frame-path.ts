/**
 * The frame path as the daemon starts it: the pipeline (vision → try-on → encode → emit to the
 * kiosk, the sessions, the metrics and a debug-capture tap), then the source last, so frames flow
 * only once every consumer is ready (and the source stops first).
 */
import type { MirrorConfig } from '../config/schema.ts';
import { FrameTap } from '../control/capture.ts';
import type { DegradationLadder } from '../core/degraded.ts';
import type { LatestFrameSlot } from '../core/flow-limiter.ts';
import type { Logger } from '../core/logger.ts';
import type { PipelineStats } from '../core/pipeline-stats.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { Pipeline } from '../pipeline.ts';
import { createSource, type CaptureSettings } from '../source/index.ts';
import { uprightSize } from '../framing/geometry.ts';
import { visionFactor } from '../framing/resample.ts';
import type { FrameSource } from '../source/source.ts';
import type { SessionTracker } from '../telemetry/events.ts';
import type { KioskServer } from '../transport/kiosk-server.ts';
import type { CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, wantsSegmentation, type TryOnSelection, type TryOnStageDeps } from '../tryon/tryon-stage.ts';
import type { FaceStage } from '../vision/face-stage.ts';
import type { GanStage } from '../gan/gan-stage.ts';
import type { StopSteps } from './stop-steps.ts';
import { createFramingStage, framedStages, framingMessage, type FramingStage } from '../framing/stage.ts';
import type { FramingMessage } from '../transport/events.ts';
import type { Frame, Size } from '../core/frame.ts';
import type { PipelineStages } from '../pipeline.ts';
import type { ColourStage } from './colour.ts';
import type { RunningAdvisor } from './advisor.ts';

export interface PipelineInputs {
  slot: LatestFrameSlot;
  stats: PipelineStats;
  vision: FaceStage;
  /** The colour profile, applied to each frame before anything reads it. */
  colour: ColourStage;
  catalogSlot: CatalogSlot;
  /** What the shopper has on, read once per frame (daemon/tryon.ts). */
  selection: () => TryOnSelection;
  sessions: SessionTracker;
  kiosk: KioskServer;
  /** Capture-to-emit latency of each emitted frame, for /metrics. */
  observeEmit: (latencyMs: number) => void;
  /** The beauty advisor (absent: off): reads each frame after vision, before try-on paints it. */
  advisor?: RunningAdvisor | null;
  /** The GAN refinement after try-on (null: off, config gan.model unset or refused). */
  gan?: GanStage | null;
}

export interface RunningPipeline {
  /** The newest encoded frame, for a confirmed debug capture (mirrorctl). */
  frameTap: FrameTap;
  /** Applies reloaded try-on (pin) and encode settings from the next frame on. */
  reconfigure(next: MirrorConfig): void;
  /** The last frame's framing (for /healthz); absent when framing is off. */
  framing?: () => FramingMessage | null;
}

export function startPipeline(config: MirrorConfig, inputs: PipelineInputs, stops: StopSteps, logger: Logger): RunningPipeline {
  const { slot, sessions, kiosk, selection } = inputs;
  let lastRenderErrorAt = 0;
  // The stage reads `pin` per frame: a config reload changes it in place.
  const tryOnDeps: TryOnStageDeps = {
    selection,
    gate: createOcclusionGate,
    catalog: inputs.catalogSlot,
    pin: config.tryon.pin,
    // Blush, contour and bronzer go where the advisor's settled face shape says.
    faceShape: () => inputs.advisor?.faceShape() ?? null,
    // The GAN keeps the light the finishes draw as drawn (its recorder; see gan-stage.ts).
    ...(inputs.gan && { drawnLight: inputs.gan.drawnLight }),
    onRenderError: (category, err) => {
      const now = Date.now();
      if (now - lastRenderErrorAt < 5000) return;
      lastRenderErrorAt = now;
      logger.error({ category, err: (err as Error).stack ?? String(err) }, 'renderer failed; product skipped on this frame');
    },
  };
  const tryOn = createTryOnStage(tryOnDeps);
  // Hair colour needs the person mask: the segmenter runs only while a hair product is on.
  inputs.vision.segmentOnDemand(() => wantsSegmentation(selection()));
  // Replaced in place by a config reload (encode.quality); the pipeline calls through.
  let encode = createJpegEncoder(config.encode.quality);
  const frameTap = new FrameTap();
  const correct = (frame: Frame) => inputs.colour.correct(frame);
  const track = (frame: Frame) => inputs.vision.tracker.process(frame);
  const rest: Omit<PipelineStages, 'vision' | 'frame'> = {
    // The corrected camera pixels try-on may paint (framing on: the crop, faces in its pixels),
    // read on every frame, drawn or not, and before any paint: the advisor never reads a render.
    observe: ({ frame, faces }) => inputs.advisor?.observe(frame, faces),
    tryOn: (frame, faces, person) => {
      // The GAN needs the bare face: its crop is cut before the renderer paints.
      inputs.gan?.capture(frame, faces);
      return tryOn(frame, faces, person);
    },
    ...(inputs.gan ? { refine: async (frame: Frame) => void (await inputs.gan!.refine(frame)) } : {}),
    // Drawn and encoded only when a kiosk can take the frame by the time its encode is done (or
    // none is connected): see pipeline.ts. One camera frame interval is a generous bound on the
    // encode; asked before the draw, the draw's expected time is added to it.
    wanted: (aheadMs) => kiosk.wantsFrame(1000 / config.capture.fps + aheadMs),
    encode: (frame) => encode(frame),
    emit: (frame) => {
      frameTap.offer(frame.image);
      sessions.observe(frame.faces.length, Date.now());
      inputs.observeEmit(frame.emittedAt - frame.capturedAt);
      kiosk.emitFrame(frame);
    },
    pass: (frame) => {
      sessions.observe(frame.faces.length, Date.now());
      kiosk.skipFrame();
    },
  };
  // Framing on: the CNNs read a small copy and the glass gets the crop (each corrected once);
  // off: the whole frame, corrected once, first, so vision, skin analysis, renderer and glass agree.
  const framing = config.framing.enabled ? framingStage(config, inputs.vision, () => kiosk.display) : null;
  const pipeline = framing
    ? new Pipeline(slot, { ...framedStages(framing, track, correct), ...rest }, inputs.stats, logger)
    : new Pipeline(
        slot,
        {
          vision: (frame) => {
            correct(frame);
            return track(frame);
          },
          ...rest,
        },
        inputs.stats,
        logger,
      );
  pipeline.start();
  stops.add('pipeline', async () => {
    slot.close();
    await pipeline.stopped();
  });
  return {
    frameTap,
    ...(framing && {
      framing: () => {
        const last = framing.last();
        return last && framingMessage(last);
      },
    }),
    reconfigure(next) {
      tryOnDeps.pin = next.tryon.pin;
      encode = createJpegEncoder(next.encode.quality);
    },
  };
}

/**
 * The virtual-mirror crop (device/framing) as config.framing, config.display and config.capture
 * describe it; `glass` is the kiosk's mirror box (kiosk:display), which the output is sized for.
 */
export function framingStage(config: MirrorConfig, vision: FaceStage, glass?: () => Size | null): FramingStage {
  const { framing, display, capture } = config;
  return createFramingStage(
    {
      policy: { display, faceWidth: framing.faceWidth, faceY: framing.faceY, maxUpscale: framing.maxUpscale, groupSpan: framing.groupSpan },
      follow: framing.follow,
      visionMaxSide: framing.visionMaxSide,
      peopleEvery: framing.peopleEvery,
      // The daemon's pipeline runs the scan between frames (PipelineStages.idle), off the frame's latency.
      scanWhenIdle: true,
      sensor: { width: capture.width, height: capture.height },
      rotation: capture.rotation,
      ...(capture.lens && { lens: capture.lens }),
      ...(glass && { glass }),
    },
    (small) => vision.detector.detect(small),
  );
}

/**
 * The capture as config.capture asks for it; with framing on, the capture child also delivers the
 * CNNs' small frame (the factor framing's see() would reduce by), so the pipeline need not.
 */
export function captureSettings(config: MirrorConfig): CaptureSettings {
  if (!config.framing.enabled) return config.capture;
  const upright = uprightSize(config.capture, config.capture.rotation);
  return { ...config.capture, reduceBy: visionFactor(upright, config.framing.visionMaxSide) };
}

export async function startFrameSource(
  config: MirrorConfig,
  outputs: { slot: LatestFrameSlot; ladder: DegradationLadder; kiosk: KioskServer },
  stops: StopSteps,
  logger: Logger,
): Promise<FrameSource> {
  const { slot, ladder, kiosk } = outputs;
  const source = createSource(config.source, captureSettings(config), logger);
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
  return source;
}
