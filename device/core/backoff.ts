/** Exponential backoff with full jitter, so many restarting peers do not retry in step. */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: { baseMs: number; maxMs: number; random?: () => number }) {
    this.#baseMs = options.baseMs;
    this.#maxMs = options.maxMs;
    this.#random = options.random ?? Math.random;
  }

  get attempts(): number {
    return this.#attempt;
  }

  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
