/**
 * Latest wins, one in flight: a slider or a drag sends a value, and values that arrive while the
 * daemon is still answering collapse into the newest one. Nothing queues behind a slow answer, and
 * sends are spaced by `minIntervalMs` so a drag stays under the daemon's command rate limit.
 */
export class LatestSender<T> {
  #draining: Promise<void> | null = null;
  #pending: { value: T } | null = null;
  #lastSentAt = -Infinity;

  constructor(
    private readonly send: (value: T) => Promise<unknown>,
    private readonly minIntervalMs = 0,
  ) {}

  push(value: T): void {
    this.#pending = { value };
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  /** Resolves once everything pushed so far was sent and answered. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    while (this.#pending) {
      const wait = this.#lastSentAt + this.minIntervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const pending = this.#pending;
      if (!pending) break;
      this.#pending = null;
      this.#lastSentAt = performance.now();
      await this.send(pending.value);
    }
  }
}
