/**
 * Exponential backoff with jitter, so that peers which failed together do not retry in step.
 * The ceiling is min(maxMs, initialMs * 2^attempt); the jitter shape is chosen per use:
 *  - `full`: uniform in [100 ms, ceiling]. Spreads a herd best: every mirror of a store
 *    reconnecting to the broker after an outage (DESIGN: "jittered backoff").
 *  - `equal`: uniform in [ceiling / 2, ceiling]. Never retries almost at once: restarting a
 *    crashed child process (camera, broker) that may crash again straight away.
 */
export type Jitter = 'full' | 'equal';

export interface BackoffPolicy {
  /** Ceiling of the first delay (attempt 0). */
  initialMs: number;
  /** Ceiling of any delay. */
  maxMs: number;
  jitter: Jitter;
}

/** The shortest delay `full` jitter gives: a retry storm at 0 ms helps nobody. */
export const MIN_DELAY_MS = 100;

/**
 * The delay before retry number `attempt` (0-based: failures since the last success). A broken
 * `random` (outside [0, 1]) is clamped, so the delay is never negative or above the ceiling.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(0, attempt), 30);
  const ceiling = Math.max(MIN_DELAY_MS, Math.min(policy.maxMs, policy.initialMs * 2 ** exp));
  const r = Math.min(1, Math.max(0, random()));
  const floor = policy.jitter === 'full' ? MIN_DELAY_MS : ceiling / 2;
  return Math.round(floor + r * (ceiling - floor));
}

/** The same policy with its attempt counter, for a supervisor that restarts one thing. */
export class Backoff {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #attempt = 0;

  constructor(policy: Omit<BackoffPolicy, 'jitter'> & { jitter?: Jitter; random?: () => number }) {
    this.#policy = { initialMs: policy.initialMs, maxMs: policy.maxMs, jitter: policy.jitter ?? 'equal' };
    this.#random = policy.random ?? Math.random;
  }

  get attempts(): number {
    return this.#attempt;
  }

  next(): number {
    return backoffDelayMs(this.#attempt++, this.#policy, this.#random);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
