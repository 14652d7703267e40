/**
 * The frame loop: source → vision → try-on → overlay → transport, one frame in flight.
 * It takes the next frame only after the transport has emitted the last one (the back edge of the
 * flow limiter), so every stage works on the newest frame. A failing stage costs one frame, never
 * the loop.
 */
import { nowMs } from './core/frame.ts';
import type { LatestFrameSlot, PooledFrame } from './core/flow-limiter.ts';
import type { PipelineStats } from './core/pipeline-stats.ts';
import type { Frame } from './core/frame.ts';
import type { Face } from './vision/face.ts';
import type { FaceStageResult } from './vision/face-tracker.ts';
import type { FrameMessage } from './transport/events.ts';
import type { Logger } from './core/logger.ts';

export interface PipelineStages {
  vision(frame: Frame): Promise<FaceStageResult>;
  /** Renders products into the frame's pixels; returns the product ids applied. */
  tryOn(frame: Frame, faces: Face[]): string[];
  encode(frame: Frame): Promise<Buffer>;
  emit(message: FrameMessage): void;
}


const round2 = (v: number) => Math.round(v * 100) / 100;

export class Pipeline {
  readonly #slot: LatestFrameSlot;
  readonly #stages: PipelineStages;
  readonly #stats: PipelineStats;
  readonly #logger: Logger;
  #loop: Promise<void> | null = null;
  #lastErrorLogAt = 0;

  constructor(slot: LatestFrameSlot, stages: PipelineStages, stats: PipelineStats, logger: Logger) {
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
    for (;;) {
      const frame = await this.#slot.take();
      if (!frame) return;
      await this.#process(frame);
    }
  }

  async #process(frame: PooledFrame): Promise<void> {
    try {
      const { faces, otherFaces } = await this.#stages.vision(frame);
      const applied = this.#stages.tryOn(frame, faces);
      const image = await this.#stages.encode(frame);
      const emittedAt = nowMs();
      this.#stages.emit({
        id: frame.id,
        capturedAt: frame.capturedAt,
        emittedAt,
        width: frame.width,
        height: frame.height,
        mime: 'image/jpeg',
        image,
        faces: faces.map((f) => ({
          box: { x: round2(f.box.x), y: round2(f.box.y), width: round2(f.box.width), height: round2(f.box.height) },
          score: round2(f.score),
          landmarks: f.landmarks.map(([x, y, z]) => [round2(x), round2(y), round2(z)] as [number, number, number]),
          ...(f.pose && { pose: f.pose }),
          ...(f.iris && {
            iris: {
              right: { center: [round2(f.iris.right.center[0]), round2(f.iris.right.center[1])] as [number, number], radius: round2(f.iris.right.radius) },
              left: { center: [round2(f.iris.left.center[0]), round2(f.iris.left.center[1])] as [number, number], radius: round2(f.iris.left.radius) },
            },
          }),
        })),
        applied,
        otherFaces,
      });
      this.#stats.recordEmit(frame.capturedAt, emittedAt);
    } catch (err) {
      this.#stats.recordStageError();
      const now = Date.now();
      if (now - this.#lastErrorLogAt > 5000) {
        this.#lastErrorLogAt = now;
        this.#logger.error({ frameId: frame.id, err: (err as Error).stack ?? String(err) }, 'pipeline stage failed; frame dropped');
      }
    } finally {
      frame.release();
    }
  }
}
