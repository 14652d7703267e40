import type { PaintSample } from './frame-loop.svelte.ts';

/**
 * Every painted frame's timeline, kept for the kiosk bench (device/bench/kiosk-bench.ts), which
 * opens the kiosk with `?bench=1` and drains this from `window.mirrorBench` every few seconds.
 * Bounded: a kiosk left in bench mode without a reader keeps only the newest samples.
 */
export class PaintLog {
  static readonly CAPACITY = 20_000;
  #samples: PaintSample[] = [];

  add = (sample: PaintSample): void => {
    this.#samples.push(sample);
    if (this.#samples.length > PaintLog.CAPACITY) this.#samples.splice(0, this.#samples.length - PaintLog.CAPACITY);
  };

  /** The samples since the last drain. */
  drain = (): PaintSample[] => {
    const out = this.#samples;
    this.#samples = [];
    return out;
  };
}
