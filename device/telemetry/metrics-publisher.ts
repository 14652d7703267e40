/**
 * The periodic metrics message: the pipeline's snapshot plus ids, timestamps, uptime, memory, the
 * daemon's CPU share, the machine's health and the outbox's state, validated before it is sent.
 * A snapshot or sensor that fails costs one field or one interval, never the timer.
 *
 * Length: createMetricsPublisher (~100 lines) is a factory of five small functions (the longest 25
 * lines) sharing the CPU sampler's previous reading and the last logged problems.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { encodeMessage, type MetricsMessage } from '../../fleet/protocol/schemas.ts';
import { errorFields, type TelemetryLogger } from './logger.ts';
import type { MetricsSnapshot } from './agent-types.ts';
import type { SystemMetrics } from './system-metrics.ts';

export interface MetricsPublisherOptions {
  deviceId: string;
  intervalMs: number;
  snapshot: () => MetricsSnapshot;
  systemMetrics: (() => SystemMetrics | undefined) | undefined;
  /** The outbox's summary, when there is one. */
  outbox: (() => NonNullable<MetricsMessage['outbox']>) | undefined;
  /** False: skip the snapshot (nowhere to send it). */
  canDeliver: () => boolean;
  deliver: (payload: Buffer) => void;
  /** An interval skipped because nothing could take the message. */
  onSkipped: () => void;
  logger: TelemetryLogger;
}

function finiteOr0(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

/** Returns the interval's tick; call it every `intervalMs`. */
export function createMetricsPublisher(o: MetricsPublisherOptions): () => void {
  const { logger } = o;
  const cpuCount = Math.max(1, os.availableParallelism());
  let cpuMark = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
  let lastSystemProblem = '';
  let lastMetricsProblem = '';

  function sampleCpu(): number {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage();
    const wallUs = Number(now - cpuMark.at) / 1_000;
    const cpuUs = usage.user - cpuMark.usage.user + (usage.system - cpuMark.usage.system);
    cpuMark = { usage, at: now };
    if (wallUs <= 0) return 0;
    return Math.min(1, Math.max(0, cpuUs / (wallUs * cpuCount)));
  }

  function sampleSystem(): SystemMetrics | undefined {
    if (!o.systemMetrics) return undefined;
    try {
      const s = o.systemMetrics();
      return s !== undefined && Object.keys(s).length > 0 ? s : undefined;
    } catch (err) {
      if (lastSystemProblem !== 'threw') logger.warn(errorFields(err), 'system metrics sampler threw; sending metrics without them');
      lastSystemProblem = 'threw';
      return undefined;
    }
  }

  function build(snap: MetricsSnapshot, cpuLoad: number, system: SystemMetrics | undefined): MetricsMessage {
    return {
      v: 1,
      msgId: randomUUID(),
      deviceId: o.deviceId,
      ts: Date.now(),
      intervalS: o.intervalMs / 1000,
      // No frames yet gives NaN percentiles in some counters: report 0 rather than lose the message.
      fps: finiteOr0(snap.fps),
      latencyP50Ms: finiteOr0(snap.latencyP50Ms),
      latencyP95Ms: finiteOr0(snap.latencyP95Ms),
      droppedFrames: finiteOr0(snap.droppedFrames),
      processedFrames: finiteOr0(snap.processedFrames),
      backends: { ...snap.backends },
      models: { ...snap.models },
      uptimeS: process.uptime(),
      rssBytes: process.memoryUsage.rss(),
      cpuLoad,
      ...(snap.update ? { update: snap.update } : {}),
      ...(snap.sessions ? { sessions: snap.sessions } : {}),
      ...(snap.catalog ? { catalog: snap.catalog } : {}),
      ...(snap.colourProfile ? { colourProfile: snap.colourProfile } : {}),
      ...(o.outbox ? { outbox: o.outbox() } : {}),
      ...(system ? { system } : {}),
      ...(snap.degraded?.length ? { degraded: snap.degraded } : {}),
    };
  }

  function encode(msg: MetricsMessage): Buffer | undefined {
    let enc = encodeMessage('metrics', msg);
    if (!enc.ok && msg.system && enc.field.startsWith('system')) {
      // A sensor reading nonsense must not cost the fleet the pipeline's metrics.
      if (enc.error !== lastSystemProblem) {
        logger.warn({ field: enc.field, error: enc.error }, 'system metrics failed validation; sent without them');
        lastSystemProblem = enc.error;
      }
      const { system: _dropped, ...rest } = msg;
      enc = encodeMessage('metrics', rest);
    }
    if (!enc.ok) {
      if (enc.error !== lastMetricsProblem) {
        logger.error({ field: enc.field, error: enc.error }, 'metrics snapshot failed validation; interval skipped');
        lastMetricsProblem = enc.error;
      }
      return undefined;
    }
    lastMetricsProblem = '';
    return enc.payload;
  }

  return function tick(): void {
    try {
      const cpuLoad = sampleCpu();
      // Sampled every interval (also while offline) so the whole-machine CPU share covers one interval.
      const system = sampleSystem();
      if (!o.canDeliver()) {
        o.onSkipped();
        return;
      }
      let snap: MetricsSnapshot;
      try {
        snap = o.snapshot();
      } catch (err) {
        logger.error(errorFields(err), 'telemetry snapshot() threw; skipping');
        return;
      }
      const payload = encode(build(snap, cpuLoad, system));
      if (payload !== undefined) o.deliver(payload);
    } catch (err) {
      logger.error(errorFields(err), 'telemetry metrics tick failed');
    }
  };
}
