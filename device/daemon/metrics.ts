/**
 * Prometheus metrics for one daemon (a Registry of its own, never prom-client's global one, so
 * two daemons in one process or a test never mix numbers). Counters are read from the parts that
 * already count (the pipeline, the source, the kiosk server) when scraped; the latency histogram
 * is fed per emitted frame.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { nowMs } from '../core/frame.ts';
import { servingVersions, type DaemonParts } from './health.ts';

export interface DaemonMetrics {
  readonly registry: Registry;
  /** One frame emitted, `latencyMs` after its capture. */
  observeEmit(latencyMs: number): void;
}

/** A counter whose value is owned elsewhere: set to that value on every scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge with one series per label set present at scrape time, each 1 (Prometheus "info" style). */
function infoGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: () => Array<Partial<Record<L, string>>>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const labels of read()) this.set(labels, 1);
    },
  });
}

export function createDaemonMetrics(parts: DaemonParts): DaemonMetrics {
  const registry = new Registry();
  const snap = () => parts.stats.snapshot(nowMs());
  new Gauge({
    name: 'mirror_fps',
    help: 'Frames emitted per second (last 2 s)',
    registers: [registry],
    collect() {
      this.set(snap().fps);
    },
  });
  const latency = new Histogram({
    name: 'mirror_capture_to_emit_seconds',
    help: 'Capture to emit latency of each frame',
    buckets: [0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2],
    registers: [registry],
  });
  mirroredCounter(registry, 'mirror_frames_emitted_total', 'Frames through the whole pipeline', () => snap().processedFrames);
  mirroredCounter(registry, 'mirror_frames_drawn_total', 'Frames try-on drew (a frame no kiosk could take is not drawn)', () => parts.stats.drawnFrames);
  mirroredCounter(registry, 'mirror_frames_dropped_total', 'Frames dropped by the latest-frame slot (a newer one arrived)', () => snap().droppedFrames);
  mirroredCounter(registry, 'mirror_stage_errors_total', 'Frames lost to a failing pipeline stage', () => snap().stageErrors);
  mirroredCounter(registry, 'mirror_kiosk_skipped_frames_total', 'Frames a kiosk client skipped (its last frame not yet received)', () => parts.kiosk?.skippedFrames ?? 0);
  mirroredCounter(registry, 'mirror_source_restarts_total', 'Capture child restarts', () => parts.source?.health().restarts ?? 0);
  mirroredCounter(registry, 'mirror_source_pool_drops_total', 'Frames lost because every frame buffer was busy', () => parts.source?.health().poolDrops ?? 0);
  infoGauge(registry, 'mirror_inference_backend', 'Backend running each model (1 per model)', ['model', 'backend'], () =>
    Object.entries(parts.vision.backends).map(([model, backend]) => ({ model, backend })),
  );
  infoGauge(registry, 'mirror_model_version', 'Serving version of each model and the catalog', ['model', 'version'], () =>
    Object.entries(servingVersions(parts)).map(([model, version]) => ({ model, version })),
  );
  infoGauge(registry, 'mirror_update_state', 'State of the update job, if any', ['state'], () => {
    const status = parts.updates?.status();
    return status ? [{ state: status.state }] : [];
  });
  infoGauge(registry, 'mirror_degraded', 'Parts running on a fallback (camera lost, previous model, CPU instead of GPU)', ['component'], () =>
    parts.ladder.list().map(({ component }) => ({ component })),
  );
  new Gauge({
    name: 'mirror_outbox_pending',
    help: 'Telemetry records waiting in the on-disk outbox',
    registers: [registry],
    collect() {
      this.set(parts.outbox?.stats().pending ?? 0);
    },
  });
  new Gauge({
    name: 'mirror_mqtt_connected',
    help: '1 while the MQTT connection is up',
    registers: [registry],
    collect() {
      this.set(parts.mqtt?.connected() ? 1 : 0);
    },
  });
  return {
    registry,
    observeEmit: (latencyMs) => latency.observe(latencyMs / 1000),
  };
}
