/**
 * The GAN stage: after the classical renderer, refines the shopper's made-up face with a GAN
 * try-on model, inside a per-frame time budget, and never at the cost of the frame rate.
 *
 * Per frame: `capture` (before the renderer) cuts the aligned bare crop from the face mesh;
 * `refine` (after it) cuts the rendered crop, reads where the render made the face up, and pastes
 * the model's refinement (a residual on the render, crop space) back through a feathered weight
 * that reaches only a few pixels past the makeup.
 *
 * Scheduling, from the model's measured time per run (median of timed runs at start, then a moving
 * average of every run):
 *   every-frame  time ≤ budget: the model runs on each frame and the frame waits for it (a GPU).
 *   every-nth    time > budget: the model runs in the background on one frame in N
 *                (N = ceil(time / budget), at most maxEvery); frames never wait for it; each frame
 *                pastes the newest refinement, which lives in the aligned crop and so follows the
 *                face to the new landmarks.
 *   off          N would exceed maxEvery, or the model failed: the stage turns itself off and says
 *                why (health(): /healthz and the telemetry snapshot).
 */
import type { Frame } from '../core/frame.ts';
import type { Logger } from '../core/logger.ts';
import type { Face } from '../vision/face.ts';
import { newDrawnLight, type DrawnLight } from '../tryon/render/drawn-light.ts';
import { alignFace, pasteResidual, warpPlaneToCrop, warpToCrop, type Similarity } from './align.ts';
import { makeupCoverage, pasteWeight } from './coverage.ts';
import type { GanModel } from './gan-model.ts';

export type GanMode = 'every-frame' | 'every-nth' | 'off';

export interface GanStageOptions {
  /** Time the stage may add to a frame, ms. */
  budgetMs: number;
  /** The most frames one refinement may serve before the stage gives up (turns off). */
  maxEvery: number;
  logger: Logger;
  /** Hears every change of mode (the daemon puts `off` on the degradation ladder). */
  onModeChange?: (mode: GanMode, reason: string) => void;
  /** Timed runs at start (default 5, after 2 warm-ups). */
  timedRuns?: number;
}

export interface GanHealth {
  model: string;
  version: string;
  backend: string;
  latencyClass: string;
  mode: GanMode;
  /** The model runs on one frame in `every`. */
  every: number;
  /** Moving average of the model's time per run, ms. */
  msPerRun: number;
  budgetMs: number;
  maxEvery: number;
  reason: string;
  /** Model runs finished. */
  runs: number;
  /** Frames that got a refinement pasted (fresh or reused). */
  refinedFrames: number;
  /** Of those, frames that reused an earlier run's refinement. */
  reusedFrames: number;
  /** Frames that went on while a background run was in flight (they did not wait for it). */
  framesDuringRun: number;
  /** Frames whose drawn light (the renderer's gloss and glints) reached the guard: 0 under a matte look, or when the try-on stage was not handed `drawnLight`. */
  litFrames: number;
}

/** Mask widening and feather for the paste, crop pixels (the makeup/skin boundary is the GAN's to retouch). */
export const PASTE_RADIUS = 3;
/** Weight of the newest run in the moving average of the run time. */
const EMA = 0.2;
/** Back to every frame only well inside the budget, so a model near it does not flap. */
const RETURN_MARGIN = 0.8;

export class GanStage {
  readonly #model: GanModel;
  readonly #opts: GanStageOptions;
  readonly #size: number;
  #mode: GanMode = 'every-frame';
  #every = 1;
  #msPerRun = 0;
  #reason = '';
  #runs = 0;
  #refinedFrames = 0;
  #reusedFrames = 0;
  #framesDuringRun = 0;
  #litFrames = 0;
  /** This frame's alignment and bare crop (capture), consumed by refine. */
  #pending: { frameId: number; t: Similarity; bare: Uint8Array } | null = null;
  /** The light the renderer draws on this frame (device/tryon/render/drawn-light.ts), frame-sized, reused. */
  #light = new Float32Array(0);
  /** Hand this to the try-on stage (TryOnStageDeps.drawnLight): the renderer records the light its finishes draw here between capture and refine. */
  readonly drawnLight: DrawnLight = newDrawnLight();
  /** Newest refinement, crop space. */
  #residual: Float32Array | null = null;
  #inFlight: Promise<void> | null = null;
  #sinceRun = 0;

  private constructor(model: GanModel, opts: GanStageOptions) {
    this.#model = model;
    this.#opts = opts;
    this.#size = model.size;
  }

  /** Times the model on this host and starts in the mode that time allows. */
  static async start(model: GanModel, opts: GanStageOptions): Promise<GanStage> {
    const stage = new GanStage(model, opts);
    const n = model.size * model.size;
    const grey = new Uint8Array(n * 3).fill(128);
    const cover = new Float32Array(n).fill(0.5);
    const weight = new Float32Array(n).fill(1);
    const light = new Float32Array(n);
    const times: number[] = [];
    for (let i = 0; i < 2 + (opts.timedRuns ?? 5); i++) {
      const t0 = performance.now();
      // The guard is part of a run's cost (on the model's thread): a whole-crop region is its worst case.
      await model.refine(grey, grey, cover, { weight, light });
      if (i >= 2) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    stage.#msPerRun = times[Math.floor(times.length / 2)];
    stage.#schedule('measured at start');
    return stage;
  }

  get mode(): GanMode {
    return this.#mode;
  }

  /** A background run is in flight (every-nth mode): frames go on and paste the previous refinement. */
  get running(): boolean {
    return this.#inFlight !== null;
  }

  /** Before the renderer: the aligned bare crop of the shopper's face (faces[0]). */
  capture(frame: Frame, faces: readonly Face[]): void {
    this.#pending = null;
    this.drawnLight.plane = null;
    const face = faces[0];
    if (this.#mode === 'off' || !face) return;
    const t = alignFace(face.landmarks, this.#size);
    this.#pending = { frameId: frame.id, t, bare: warpToCrop(frame, t, this.#size) };
    // The renderer records the light its finishes draw while this plane is set (until refine reads it).
    const n = frame.width * frame.height;
    if (this.#light.length !== n) this.#light = new Float32Array(n);
    else this.#light.fill(0);
    this.drawnLight.plane = this.#light;
  }

  /** After the renderer: pastes a refinement into the frame; true when one was pasted. */
  async refine(frame: Frame): Promise<boolean> {
    const pending = this.#pending;
    this.#pending = null;
    const recorded = this.drawnLight.plane;
    this.drawnLight.plane = null;
    if (this.#mode === 'off' || !pending || pending.frameId !== frame.id) {
      if (!pending) this.#residual = null;
      return false;
    }
    const size = this.#size;
    const render = warpToCrop(frame, pending.t, size);
    const coverage = makeupCoverage(pending.bare, render, size);
    if (!coverage.some((v) => v > 0)) return false;
    const weight = pasteWeight(coverage, size, PASTE_RADIUS);
    const light = recorded === this.#light ? warpPlaneToCrop(recorded, frame.width, frame.height, pending.t, size) : null;
    if (light?.some((v) => v > 0)) this.#litFrames++;
    let fresh = false;
    if (this.#mode === 'every-frame') {
      fresh = await this.#run(pending.bare, render, coverage, weight, light);
    } else if (this.#inFlight) {
      this.#framesDuringRun++;
    } else if (++this.#sinceRun >= this.#every || !this.#residual) {
      this.#sinceRun = 0;
      // Not awaited: the frame goes on with the last refinement; this one serves the next frames.
      this.#inFlight = this.#run(pending.bare, render, coverage, weight, light).then(() => {
        this.#inFlight = null;
      });
    }
    if (!this.#residual) return false;
    pasteResidual(frame, pending.t, size, this.#residual, weight);
    this.#refinedFrames++;
    if (!fresh) this.#reusedFrames++;
    return true;
  }

  /** Runs the model once; keeps its refinement, its time, and the mode that time calls for. */
  async #run(bare: Uint8Array, render: Uint8Array, coverage: Float32Array, weight: Float32Array, light: Float32Array | null): Promise<boolean> {
    const t0 = performance.now();
    const background = this.#mode === 'every-nth';
    try {
      // The device, not the model, guarantees reach, the drawn gloss/glitter and the chosen colour:
      // the guard (residual-guard.ts) runs after the model on the model's thread, not the frame loop's.
      this.#residual = await this.#model.refine(bare, render, coverage, { weight, light });
    } catch (err) {
      this.#residual = null;
      this.#setMode('off', 1, `model failed: ${(err as Error).message}`);
      return false;
    }
    this.#runs++;
    // A frame waits for a run in every-frame mode (all of it counts); a background run is timed on
    // the model's thread (model and guard), not by when the frame loop next turned to hear of it.
    const ms = background ? this.#model.lastRunMs : performance.now() - t0;
    this.#msPerRun += EMA * (ms - this.#msPerRun);
    this.#schedule('moving average');
    return true;
  }

  #schedule(basis: string): void {
    if (this.#mode === 'off') return;
    const { budgetMs, maxEvery } = this.#opts;
    const ms = this.#msPerRun;
    const every = Math.max(1, Math.ceil(ms / budgetMs));
    const desc = `${this.#model.backend} ${ms.toFixed(1)} ms per run (${basis}), budget ${budgetMs} ms per frame`;
    if (every > maxEvery) this.#setMode('off', every, `${desc}: would need every ${every}th frame, more than maxEvery ${maxEvery}`);
    else if (every === 1 && (this.#mode === 'every-frame' || ms <= budgetMs * RETURN_MARGIN)) this.#setMode('every-frame', 1, desc);
    else this.#setMode('every-nth', Math.max(2, every), `${desc}: runs in the background on one frame in ${Math.max(2, every)}`);
  }

  #setMode(mode: GanMode, every: number, reason: string): void {
    const changed = mode !== this.#mode || every !== this.#every;
    this.#reason = reason;
    this.#every = every;
    if (!changed) return;
    this.#mode = mode;
    if (mode === 'off') this.#residual = null;
    const log = mode === 'off' ? this.#opts.logger.warn.bind(this.#opts.logger) : this.#opts.logger.info.bind(this.#opts.logger);
    log({ model: this.#model.manifest.name, mode, every, reason }, mode === 'off' ? 'GAN stage turned itself off' : 'GAN stage schedule');
    this.#opts.onModeChange?.(mode, reason);
  }

  /** Resolves once no background run is in flight (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  health(): GanHealth {
    const m = this.#model.manifest;
    return {
      model: m.name,
      version: m.version,
      backend: this.#model.backend,
      latencyClass: m.latencyClass,
      mode: this.#mode,
      every: this.#every,
      msPerRun: Math.round(this.#msPerRun * 100) / 100,
      budgetMs: this.#opts.budgetMs,
      maxEvery: this.#opts.maxEvery,
      reason: this.#reason,
      runs: this.#runs,
      refinedFrames: this.#refinedFrames,
      reusedFrames: this.#reusedFrames,
      framesDuringRun: this.#framesDuringRun,
      litFrames: this.#litFrames,
    };
  }

  async dispose(): Promise<void> {
    await this.settled();
    this.#model.dispose();
  }
}
