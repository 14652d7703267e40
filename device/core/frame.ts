/** The unit that flows through the pipeline: one captured image and when it was taken. */
export type PixelFormat = 'rgb24';

export interface Frame {
  /** Monotonic per source run, starting at 1. */
  readonly id: number;
  /** Wall-clock capture time in ms since the epoch (sub-ms precision), same clock as the kiosk. */
  readonly capturedAt: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  /** Tightly packed rows, width * height * 3 bytes. Stages downstream of try-on may paint into it. */
  readonly data: Buffer;
  /** The same picture divided by a whole factor, made by the capture child (the CNNs' frame), when it makes one. */
  readonly reduced?: ReducedFrame;
}

/**
 * A frame box-averaged by a whole `factor` (each pixel the mean of a factor x factor block, pixel
 * centres aligned: point p here is camera point p·factor), rgb24, tightly packed.
 */
export interface ReducedFrame {
  readonly factor: number;
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

/** What the pipeline emits about a frame besides its pixels and faces (also the kiosk's wire form). */
export interface EmittedFrameInfo {
  id: number;
  /** Capture time, ms since the epoch. */
  capturedAt: number;
  /** When the pipeline emitted it, ms since the epoch. */
  emittedAt: number;
  width: number;
  height: number;
  mime: 'image/jpeg';
  /** Product ids rendered on this frame. */
  applied: string[];
}

export interface Size {
  width: number;
  height: number;
}

/** Wall clock with sub-millisecond resolution that never jumps backwards within a process. */
export const nowMs = (): number => performance.timeOrigin + performance.now();
