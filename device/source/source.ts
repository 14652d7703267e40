/** The frame source contract: camera, stills or clip replay, all emitting rgb24 frames. */
import type { PooledFrame } from '../core/flow-limiter.ts';

export interface SourceHealth {
  /** Frames emitted since start. */
  frames: number;
  /** Frames lost because every pool buffer was busy. */
  poolDrops: number;
  /** Times the capture child was restarted after dying or stalling. */
  restarts: number;
  /** Replay ticks dropped after a stall (a clip never catches up faster than its fps). */
  skippedTicks: number;
  lastError: string | null;
}

export interface FrameSource {
  /** Human-readable, e.g. "clip:device/assets/demo-clip (1280x720 → 640x480 @30)". */
  readonly description: string;
  readonly width: number;
  readonly height: number;
  start(onFrame: (frame: PooledFrame) => void): Promise<void>;
  stop(): Promise<void>;
  health(): SourceHealth;
}

export type { Logger as SourceLogger } from '../core/logger.ts';
