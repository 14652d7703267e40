/**
 * An async mutex: `run` calls run one after another, in call order; a call that fails does not
 * stop the ones queued behind it. (SQLite's single connection and the rollout engine use it.)
 */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
