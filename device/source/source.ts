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

/**
 * Whether frames flow. `lost`: the capture child died, stalled or cannot open its input, and is
 * being retried; the kiosk shows a service message and /healthz lists the camera as degraded.
 */
export interface SourceStatus {
  state: 'live' | 'lost';
  /** Why it was lost; null while live. */
  reason: string | null;
  /** Since when, ms since the epoch. */
  since: number;
}

export interface FrameSource {
  /** Human-readable, e.g. "clip:device/assets/demo-clip (1280x720 → 640x480 @30)". */
  readonly description: string;
  readonly width: number;
  readonly height: number;
  /** `onStatus` hears every change between live and lost (sources that cannot lose their input never call it). */
  start(onFrame: (frame: PooledFrame) => void, onStatus?: (status: SourceStatus) => void): Promise<void>;
  stop(): Promise<void>;
  health(): SourceHealth;
}

export type { Logger as SourceLogger } from '../core/logger.ts';
