/**
 * The degradation ladder: each part of the mirror that runs on a fallback (CPU instead of the GPU,
 * the previous model, no camera) says so here, with why and since when, for /healthz, /metrics,
 * the kiosk and telemetry. A mirror that heals itself must also show what it is healing.
 */
export interface DegradedStep {
  /** e.g. "camera", "inference", "model:face-mesh", "catalog". */
  component: string;
  reason: string;
  /** ISO time the step was first taken. */
  since: string;
}

export class DegradationLadder {
  readonly #steps = new Map<string, DegradedStep>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Marks `component` degraded; a step already taken keeps its `since` (the reason may change). */
  set(component: string, reason: string): void {
    const since = this.#steps.get(component)?.since ?? new Date(this.#now()).toISOString();
    this.#steps.set(component, { component, reason, since });
  }

  clear(component: string): void {
    this.#steps.delete(component);
  }

  has(component: string): boolean {
    return this.#steps.has(component);
  }

  list(): DegradedStep[] {
    return [...this.#steps.values()].map((s) => ({ ...s }));
  }
}
