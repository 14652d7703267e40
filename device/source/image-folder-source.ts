/**
 * Replays a folder of images (the bundled demo clip) in a loop at a fixed rate, decoded and
 * scaled to the capture size (cover-fit) on libuv's thread pool so the pipeline thread stays free.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { nowMs } from '../core/frame.ts';
import type { PooledFrame } from '../core/flow-limiter.ts';
import type { FrameSource, SourceHealth, SourceLogger } from './source.ts';
import { uprightSize } from './orientation.ts';
import type { Rotation } from '../framing/geometry.ts';

const IMAGE = /\.(jpe?g|png|webp)$/i;

export class ImageFolderSource implements FrameSource {
  readonly width: number;
  readonly height: number;
  readonly #dir: string;
  readonly #fps: number;
  readonly #rotation: Rotation;
  readonly #logger: SourceLogger;
  #files: string[] = [];
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #health: SourceHealth = { frames: 0, poolDrops: 0, restarts: 0, skippedTicks: 0, lastError: null };

  /** width x height: the capture size in the sensor's orientation; frames are that turned by `rotation`. */
  constructor(options: { dir: string; width: number; height: number; fps: number; rotation?: Rotation; logger: SourceLogger }) {
    this.#dir = options.dir;
    this.#rotation = options.rotation ?? 0;
    const upright = uprightSize(options, this.#rotation);
    this.width = upright.width;
    this.height = upright.height;
    this.#fps = options.fps;
    this.#logger = options.logger;
  }

  get description(): string {
    return `clip:${this.#dir} (${this.#files.length} images → ${this.width}x${this.height} @${this.#fps})`;
  }

  async start(onFrame: (frame: PooledFrame) => void): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.#dir);
    } catch (err) {
      throw new MirrorError('MIRROR_ERR_SOURCE', `clip folder ${this.#dir} cannot be read: ${(err as Error).message}`);
    }
    this.#files = entries.filter((f) => IMAGE.test(f)).sort().map((f) => path.join(this.#dir, f));
    if (this.#files.length === 0) throw new MirrorError('MIRROR_ERR_SOURCE', `clip folder ${this.#dir} holds no .jpg/.png/.webp images`);
    this.#running = true;
    this.#loop = this.#run(onFrame);
  }

  async #run(onFrame: (frame: PooledFrame) => void): Promise<void> {
    const interval = 1000 / this.#fps;
    const startedAt = nowMs();
    /** The clip frame shown at startedAt + tick * interval: the replay keeps real time, as a camera would. */
    let tick = 1;
    let id = 0;
    while (this.#running) {
      const file = this.#files[tick % this.#files.length];
      let data: Buffer;
      try {
        // Turned, then cover-fitted to the upright size: the same pixels as fitting the sensor's size and turning.
        data = await sharp(file).removeAlpha().rotate(this.#rotation).resize(this.width, this.height, { fit: 'cover' }).raw().toBuffer();
      } catch (err) {
        this.#health.lastError = `${file}: ${(err as Error).message}`;
        this.#logger.warn({ file, err: (err as Error).message }, 'clip image does not decode, skipping');
        this.#files = this.#files.filter((f) => f !== file);
        if (this.#files.length === 0) {
          this.#logger.error({ dir: this.#dir }, 'no decodable images left in clip');
          return;
        }
        continue;
      }
      // Pace against the start time so decode jitter does not accumulate into drift.
      const wait = startedAt + tick * interval - nowMs();
      if (wait > 0) await this.#sleep(wait);
      if (!this.#running) return;
      this.#health.frames++;
      onFrame({ id: ++id, capturedAt: nowMs(), width: this.width, height: this.height, format: 'rgb24', data, release: () => {} });
      // Ticks missed while the event loop was blocked are dropped, not caught up: delivering them
      // late would run the pipeline above the camera's rate on stale frames.
      const current = Math.floor((nowMs() - startedAt) / interval);
      this.#health.skippedTicks += Math.max(0, current - tick);
      tick = Math.max(tick, current) + 1;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  health(): SourceHealth {
    return { ...this.#health };
  }
}
