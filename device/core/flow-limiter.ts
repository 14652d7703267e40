/**
 * Latest-frame-wins gate at the head of the pipeline (MediaPipe's FlowLimiter with one frame in
 * flight): the source offers every frame; the pipeline takes one when it has finished the last.
 * A frame still waiting when a newer one arrives is dropped and counted, so no queue ever grows.
 */
import type { Frame } from './frame.ts';

export interface PooledFrame extends Frame {
  /** Returns the pixel buffer to its source's pool; called exactly once by whoever ends the frame. */
  release(): void;
}

export class LatestFrameSlot {
  #pending: PooledFrame | null = null;
  #waiter: ((frame: PooledFrame | null) => void) | null = null;
  #closed = false;
  #dropped = 0;

  get dropped(): number {
    return this.#dropped;
  }

  offer(frame: PooledFrame): void {
    if (this.#closed) {
      frame.release();
      return;
    }
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(frame);
      return;
    }
    if (this.#pending) {
      this.#pending.release();
      this.#dropped++;
    }
    this.#pending = frame;
  }

  /** A frame (or the close) is ready: take() would resolve at once. */
  get waiting(): boolean {
    return this.#pending !== null || this.#closed;
  }

  /** Resolves with the newest frame, or null once closed. */
  take(): Promise<PooledFrame | null> {
    if (this.#pending) {
      const frame = this.#pending;
      this.#pending = null;
      return Promise.resolve(frame);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  close(): void {
    this.#closed = true;
    this.#pending?.release();
    this.#pending = null;
    this.#waiter?.(null);
    this.#waiter = null;
  }
}
