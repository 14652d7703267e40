/** Rolling pipeline numbers for the HUD, /healthz and telemetry: fps, latency percentiles, drops. */
export class RollingWindow {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  push(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    this.#count = Math.min(this.#count + 1, this.#values.length);
  }

  /** Nearest-rank percentile (p in 0..100) of the values in the window; 0 when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const sorted = Array.from(this.#values.subarray(0, this.#count)).sort((a, b) => a - b);
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1));
    return sorted[rank];
  }

  get capacity(): number {
    return this.#values.length;
  }

  get size(): number {
    return this.#count;
  }
}

export interface StatsSnapshot {
  fps: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  paintLatencyP95Ms: number;
  droppedFrames: number;
  processedFrames: number;
  stageErrors: number;
  lastFrameAgeMs: number | null;
}

export class PipelineStats {
  #latency = new RollingWindow(300);
  #paintLatency = new RollingWindow(300);
  /** Emit times of recent frames, for fps over the last couple of seconds. */
  readonly #emits: number[] = [];
  readonly #fpsWindowMs: number;
  #processed = 0;
  #stageErrors = 0;
  #drawn = 0;
  #lastEmitAt: number | null = null;
  readonly #dropped: () => number;

  constructor(options: { dropped: () => number; fpsWindowMs?: number }) {
    this.#dropped = options.dropped;
    this.#fpsWindowMs = options.fpsWindowMs ?? 2000;
  }

  recordEmit(capturedAt: number, emittedAt: number): void {
    this.#latency.push(emittedAt - capturedAt);
    this.recordPass(emittedAt);
  }

  /** A frame processed but not encoded (nobody wanted its image): counted, no emit latency. */
  recordPass(at: number): void {
    this.#processed++;
    this.#lastEmitAt = at;
    this.#emits.push(at);
    while (this.#emits.length > 0 && this.#emits[0] < at - this.#fpsWindowMs) this.#emits.shift();
  }

  recordPaint(capturedAt: number, paintedAt: number): void {
    this.#paintLatency.push(paintedAt - capturedAt);
  }

  /** Forget everything measured so far (benchmarks exclude their warm-up this way). */
  reset(): void {
    this.#latency = new RollingWindow(this.#latency.capacity);
    this.#paintLatency = new RollingWindow(this.#paintLatency.capacity);
    this.#emits.length = 0;
    this.#processed = 0;
    this.#stageErrors = 0;
    this.#drawn = 0;
  }

  /** A frame the try-on drew (pipeline.ts draws only frames a kiosk may take). */
  recordDrawn(): void {
    this.#drawn++;
  }

  /** Frames try-on drew since the last reset (≤ processed: frames nobody wanted are not drawn). */
  get drawnFrames(): number {
    return this.#drawn;
  }

  recordStageError(): void {
    this.#stageErrors++;
  }

  snapshot(now: number): StatsSnapshot {
    const recent = this.#emits.filter((t) => t >= now - this.#fpsWindowMs);
    const round = (v: number) => Math.round(v * 10) / 10;
    return {
      fps: round((recent.length * 1000) / this.#fpsWindowMs),
      latencyP50Ms: round(this.#latency.percentile(50)),
      latencyP95Ms: round(this.#latency.percentile(95)),
      paintLatencyP95Ms: round(this.#paintLatency.percentile(95)),
      droppedFrames: this.#dropped(),
      processedFrames: this.#processed,
      stageErrors: this.#stageErrors,
      lastFrameAgeMs: this.#lastEmitAt === null ? null : Math.round(now - this.#lastEmitAt),
    };
  }
}
