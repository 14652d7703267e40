/**
 * At most `max` events per window of `windowMs`; the rest are counted by key and handed over once,
 * as a summary, when their window ends. Keeps a flood of bad offers from turning into a flood of
 * state reports and log lines (each one an outbox write).
 */
export class RateWindow {
  #windowStart = -Infinity;
  #taken = 0;
  #suppressed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    /** Called with the counts suppressed in a window that has ended (never with an empty map). */
    private readonly onSummary: (suppressed: ReadonlyMap<string, number>, windowMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when the event may go out now; false when it was counted under `key` instead. */
  take(key: string): boolean {
    const now = this.now();
    if (now - this.#windowStart >= this.windowMs) {
      this.flush();
      this.#windowStart = now;
      this.#taken = 0;
    }
    if (this.#taken < this.max) {
      this.#taken += 1;
      return true;
    }
    this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), Math.max(1, this.#windowStart + this.windowMs - now));
      this.#timer.unref();
    }
    return false;
  }

  /** Hands over what was suppressed so far (at the window's end, or when stopping). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed.size === 0) return;
    const counts = this.#suppressed;
    this.#suppressed = new Map();
    this.onSummary(counts, this.windowMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** "bad-signature: 4990, busy: 3" */
export function describeCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ');
}
