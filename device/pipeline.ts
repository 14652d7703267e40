/**
 * The frame loop: source → vision → try-on → encode → transport.
 *
 * Two frames overlap, no more: while frame N is encoded (libjpeg-turbo on libuv's thread pool)
 * the loop already runs the CNNs and the renderer on frame N+1 (this thread), so on two cores
 * the encode no longer adds to the time between frames. Frame N+1 is encoded only once N has been
 * emitted, so frames leave in order and at most one encode is pending. The loop takes the next
 * frame from the slot only when it is free to work on it, so every stage still sees the newest
 * frame (the flow limiter's back edge). A failing stage costs one frame, never the loop.
 *
 * A frame nobody can take is neither drawn nor encoded: when every kiosk is still receiving the
 * last frame the transport would skip this one anyway, and its try-on (7-34 ms with full looks),
 * refinement and JPEG are CPU the kiosk's own decode and paint need on a 2-core mirror. Vision and
 * framing still run on every frame (tracking, the crop's follow, sessions), and `observe` (the
 * advisor) still reads every frame's camera pixels. `wanted` is asked twice: before drawing, with
 * the time the draw is expected to take (a moving average of this loop's own draws), and again
 * just before the encode, for a frame drawn while the kiosk fell behind.
 */
import { nowMs } from './core/frame.ts';
import type { LatestFrameSlot, PooledFrame } from './core/flow-limiter.ts';
import type { PipelineStats } from './core/pipeline-stats.ts';
import type { EmittedFrameInfo, Frame } from './core/frame.ts';
import type { Face } from './vision/face.ts';
import type { FaceStageResult } from './vision/face-tracker.ts';
import type { PersonMask } from './vision/segmentation.ts';
import type { Logger } from './core/logger.ts';
import type { FramingMessage } from './transport/events.ts';

/** What the pipeline hands the transport: the encoded glass image and what was found in it. */
export interface EncodedFrame extends EmittedFrameInfo {
  /** The encoded image with the try-on already rendered into it (not mirrored). */
  image: Buffer;
  /** The shopper's face (tracked), in the frame's pixels. */
  faces: Face[];
  /** Faces seen besides the shopper's (bystanders: counted, never rendered). */
  otherFaces: number;
  /** How the image was cut from the camera frame, when the daemon frames the picture. */
  framing?: FramingMessage;
}

/** What the glass shows of a frame: its pixels, and the faces and person mask in them. */
export interface Shown {
  frame: Frame;
  faces: Face[];
  segmentation?: PersonMask;
  framing?: FramingMessage;
}

export interface PipelineStages<V extends FaceStageResult = FaceStageResult> {
  vision(frame: Frame): Promise<V>;
  /** Framing (device/framing): the crop the glass shows, cut after vision and before try-on; absent: the whole frame. */
  frame?(frame: Frame, seen: V): Promise<Shown>;
  /**
   * After vision and framing, before anything is drawn, on every frame (wanted or not): reads the
   * camera's pixels the glass would show (the beauty advisor).
   */
  observe?(shown: Shown): void;
  /** Renders products into the frame's pixels (hair colour reads the person mask); returns the product ids applied. */
  tryOn(frame: Frame, faces: Face[], person?: PersonMask): string[];
  /** Optional, after try-on: refines the rendered face in place (the GAN stage, device/gan). */
  refine?(frame: Frame): Promise<void>;
  /**
   * Will anyone take this frame's image? Asked before try-on with `aheadMs` (how long the draw is
   * expected to take, ms) and again just before the encode with 0. False (every kiosk is still
   * receiving the last frame, so the transport would skip this one): the frame is not drawn (first
   * ask) or not encoded (second ask), and `pass` gets it instead of `emit`. Absent: every frame
   * is drawn and encoded.
   */
  wanted?(aheadMs: number): boolean;
  /**
   * Work that can wait for a quiet moment (the framing's people scan), or null when there is none.
   * The loop runs it once the last frame has been emitted and no new frame is waiting, so it is
   * on no frame's capture→emit unless a frame arrives while it runs.
   */
  idle?(): (() => Promise<void>) | null;
  encode(frame: Frame): Promise<Buffer>;
  emit(frame: EncodedFrame): void;
  /** A frame seen (vision, framing) but not encoded, and not drawn unless wanted when drawing began, because nobody wanted its image. */
  pass?(frame: PassedFrame): void;
}

/**
 * What a frame that was not encoded still tells its consumers (sessions, the skip count). Its
 * `applied` lists what was drawn on it: nothing (`[]`, `drawn: false`) when nobody wanted it
 * before the draw.
 */
export type PassedFrame = Omit<EncodedFrame, 'image' | 'emittedAt' | 'mime'> & { drawn: boolean };

/** A frame between its render (this thread) and its encode; `drawn: false`: nobody wanted it, try-on skipped. */
interface Rendered<V extends FaceStageResult> {
  seen: V;
  shown: Shown;
  applied: string[];
  drawn: boolean;
}

/** Weight of the newest draw in the moving average of draw times (wanted's `aheadMs`). */
const DRAW_WEIGHT = 0.2;

export class Pipeline<V extends FaceStageResult = FaceStageResult> {
  readonly #slot: LatestFrameSlot;
  readonly #stages: PipelineStages<V>;
  readonly #stats: PipelineStats;
  readonly #logger: Logger;
  #loop: Promise<void> | null = null;
  #lastErrorLogAt = 0;
  /** Moving average of try-on + refine, wall ms (what `wanted` is told a draw will take). */
  #drawMs = 0;

  constructor(slot: LatestFrameSlot, stages: PipelineStages<V>, stats: PipelineStats, logger: Logger) {
    this.#slot = slot;
    this.#stages = stages;
    this.#stats = stats;
    this.#logger = logger;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves when the frame in flight is finished; the slot must be closed first. */
  async stopped(): Promise<void> {
    await this.#loop;
  }

  async #run(): Promise<void> {
    // The previous frame's encode and emit, still running while this thread works on the next.
    let encoding: Promise<void> = Promise.resolve();
    for (;;) {
      const work = this.#slot.waiting ? null : this.#stages.idle?.();
      if (work) {
        // After the last frame's emit, and only if still no frame came (else it keeps for later).
        await encoding;
        if (!this.#slot.waiting) await this.#idle(work);
      }
      const frame = await this.#slot.take();
      if (!frame) break;
      const rendered = await this.#render(frame);
      // Bounded overlap: this frame's encode waits for the last one to be emitted.
      await encoding;
      if (rendered) encoding = this.#encodeAndEmit(frame, rendered);
    }
    await encoding;
  }

  /** Vision, framing, try-on and refinement, on this thread; null (frame released) when a stage failed. */
  async #render(frame: PooledFrame): Promise<Rendered<V> | null> {
    try {
      const seen = await this.#stages.vision(frame);
      const shown: Shown = this.#stages.frame ? await this.#stages.frame(frame, seen) : { frame, faces: seen.faces, segmentation: seen.segmentation };
      this.#stages.observe?.(shown);
      // Nobody will take it by the time it could be drawn and encoded: not drawn at all.
      if (this.#stages.wanted?.(this.#drawMs) === false) return { seen, shown, applied: [], drawn: false };
      const drawStart = performance.now();
      const applied = this.#stages.tryOn(shown.frame, shown.faces, shown.segmentation);
      this.#stats.recordDrawn();
      await this.#stages.refine?.(shown.frame);
      this.#drawMs += DRAW_WEIGHT * (performance.now() - drawStart - this.#drawMs);
      return { seen, shown, applied, drawn: true };
    } catch (err) {
      this.#failed(frame, err);
      return null;
    }
  }

  async #encodeAndEmit(frame: PooledFrame, { seen, shown, applied, drawn }: Rendered<V>): Promise<void> {
    try {
      if (!drawn || this.#stages.wanted?.(0) === false) {
        this.#stages.pass?.({ id: frame.id, capturedAt: frame.capturedAt, width: shown.frame.width, height: shown.frame.height, faces: shown.faces, applied, drawn, otherFaces: seen.otherFaces, ...(shown.framing && { framing: shown.framing }) });
        this.#stats.recordPass(nowMs());
        frame.release();
        return;
      }
      const image = await this.#stages.encode(shown.frame);
      const emittedAt = nowMs();
      this.#stages.emit({
        id: frame.id,
        capturedAt: frame.capturedAt,
        emittedAt,
        width: shown.frame.width,
        height: shown.frame.height,
        mime: 'image/jpeg',
        image,
        faces: shown.faces,
        applied,
        otherFaces: seen.otherFaces,
        ...(shown.framing && { framing: shown.framing }),
      });
      this.#stats.recordEmit(frame.capturedAt, emittedAt);
      frame.release();
    } catch (err) {
      this.#failed(frame, err);
    }
  }

  async #idle(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.#logError(err, 'pipeline idle work failed', {});
    }
  }

  #failed(frame: PooledFrame, err: unknown): void {
    frame.release();
    this.#stats.recordStageError();
    this.#logError(err, 'pipeline stage failed; frame dropped', { frameId: frame.id });
  }

  #logError(err: unknown, message: string, context: object): void {
    const now = Date.now();
    if (now - this.#lastErrorLogAt > 5000) {
      this.#lastErrorLogAt = now;
      this.#logger.error({ ...context, err: (err as Error).stack ?? String(err) }, message);
    }
  }
}
