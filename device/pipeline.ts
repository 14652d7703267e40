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
 * A frame nobody can take is not encoded: when every kiosk is still receiving the last frame the
 * transport would skip this one anyway, and its JPEG (the largest cost on this thread's partner
 * core after the CNNs) is CPU the kiosk's own decode and paint need on a 2-core mirror.
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
  /** Renders products into the frame's pixels (hair colour reads the person mask); returns the product ids applied. */
  tryOn(frame: Frame, faces: Face[], person?: PersonMask): string[];
  /** Optional, after try-on: refines the rendered face in place (the GAN stage, device/gan). */
  refine?(frame: Frame): Promise<void>;
  /**
   * Asked just before the encode: will anyone take this frame's image now? False (every kiosk is
   * still receiving the last frame, so the transport would skip this one): the JPEG is not made
   * and `pass` gets the frame instead of `emit`. Absent: every frame is encoded.
   */
  wanted?(): boolean;
  encode(frame: Frame): Promise<Buffer>;
  emit(frame: EncodedFrame): void;
  /** A frame processed (vision, try-on) but not encoded because nobody wanted its image. */
  pass?(frame: PassedFrame): void;
}

/** What a frame that was not encoded still tells its consumers (sessions, the skip count). */
export type PassedFrame = Omit<EncodedFrame, 'image' | 'emittedAt' | 'mime'>;

/** A frame between its render (this thread) and its encode. */
interface Rendered<V extends FaceStageResult> {
  seen: V;
  shown: Shown;
  applied: string[];
}

export class Pipeline<V extends FaceStageResult = FaceStageResult> {
  readonly #slot: LatestFrameSlot;
  readonly #stages: PipelineStages<V>;
  readonly #stats: PipelineStats;
  readonly #logger: Logger;
  #loop: Promise<void> | null = null;
  #lastErrorLogAt = 0;

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
      const applied = this.#stages.tryOn(shown.frame, shown.faces, shown.segmentation);
      await this.#stages.refine?.(shown.frame);
      return { seen, shown, applied };
    } catch (err) {
      this.#failed(frame, err);
      return null;
    }
  }

  async #encodeAndEmit(frame: PooledFrame, { seen, shown, applied }: Rendered<V>): Promise<void> {
    try {
      if (this.#stages.wanted?.() === false) {
        this.#stages.pass?.({ id: frame.id, capturedAt: frame.capturedAt, width: shown.frame.width, height: shown.frame.height, faces: shown.faces, applied, otherFaces: seen.otherFaces, ...(shown.framing && { framing: shown.framing }) });
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

  #failed(frame: PooledFrame, err: unknown): void {
    frame.release();
    this.#stats.recordStageError();
    const now = Date.now();
    if (now - this.#lastErrorLogAt > 5000) {
      this.#lastErrorLogAt = now;
      this.#logger.error({ frameId: frame.id, err: (err as Error).stack ?? String(err) }, 'pipeline stage failed; frame dropped');
    }
  }
}
