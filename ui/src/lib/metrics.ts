/** Browser-side measurements for the debug HUD: painted fps and capture-to-paint latency. */

/** Events per second over a sliding window. */
export class RateMeter {
  readonly #stamps: number[] = [];
  constructor(private readonly windowMs = 1000) {}

  mark(now: number): void {
    this.#stamps.push(now);
    this.#trim(now);
  }

  rate(now: number): number {
    this.#trim(now);
    return (this.#stamps.length * 1000) / this.windowMs;
  }

  #trim(now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.#stamps.length && this.#stamps[drop] <= cutoff) drop++;
    if (drop) this.#stamps.splice(0, drop);
  }
}

/** The last `capacity` samples, for percentiles. A fixed ring: nothing grows. */
export class SampleWindow {
  readonly #ring: Float64Array;
  #next = 0;
  #size = 0;

  constructor(capacity = 300) {
    this.#ring = new Float64Array(capacity);
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.#ring[this.#next] = value;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#size = Math.min(this.#size + 1, this.#ring.length);
  }

  get size(): number {
    return this.#size;
  }

  /** Nearest-rank percentiles, `ps` in 0..100; NaN when empty. */
  percentiles(...ps: number[]): number[] {
    if (this.#size === 0) return ps.map(() => Number.NaN);
    const sorted = this.#ring.slice(0, this.#size).sort();
    return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
  }

  clear(): void {
    this.#next = 0;
    this.#size = 0;
  }
}
