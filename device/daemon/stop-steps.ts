/** What start-up has started, stopped in reverse; one failing step never keeps the rest running. */
import type { Logger } from '../core/logger.ts';

export class StopSteps {
  readonly #steps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run });
  }

  async runAll(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (err) {
        this.#logger.error({ step: step.name, err: (err as Error).message }, 'stop step failed');
      }
    }
  }
}
