/** Polling for tests: no wall-clock assertion, only a bound on how long to wait for a condition. */

export interface UntilOptions {
  /** Give up (throw) after this long; default 20 s, under the suites' 60 s test timeout. */
  timeoutMs?: number;
  /** Poll interval. */
  everyMs?: number;
  /** What was awaited, for the timeout message. */
  what?: string;
}

/** Resolves with `probe`'s first value that is neither undefined nor false. */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, options: UntilOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, everyMs = 25, what = 'a condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
