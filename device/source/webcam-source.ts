/**
 * Stills through node-webcam (fswebcam) for hosts that have nothing better: about 1-3 frames a
 * second, so the mirror is usable but not live. node-webcam's in-memory mode mangles binary
 * output, so each still goes through a private (0700) runtime folder and is deleted as soon as
 * it is read; it never lands in persistent storage.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import NodeWebcam from 'node-webcam';
import { Backoff } from '../core/backoff.ts';
import { nowMs } from '../core/frame.ts';
import type { PooledFrame } from '../core/flow-limiter.ts';
import type { FrameSource, SourceHealth, SourceLogger } from './source.ts';
import { uprightSize } from './orientation.ts';
import type { Rotation } from '../framing/geometry.ts';

export class WebcamSource implements FrameSource {
  readonly width: number;
  readonly height: number;
  readonly #device: string | false;
  readonly #logger: SourceLogger;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  #running = false;
  #loop: Promise<void> | null = null;
  #dir: string | null = null;
  #health: SourceHealth = { frames: 0, poolDrops: 0, restarts: 0, skippedTicks: 0, lastError: null };

  readonly #capture: { width: number; height: number; rotation: Rotation };

  /** width x height: the still size asked of the camera (sensor orientation); frames are that turned by `rotation`. */
  constructor(options: { device?: string; width: number; height: number; rotation?: Rotation; logger: SourceLogger }) {
    this.#capture = { width: options.width, height: options.height, rotation: options.rotation ?? 0 };
    const upright = uprightSize(options, this.#capture.rotation);
    this.width = upright.width;
    this.height = upright.height;
    this.#device = options.device ?? false;
    this.#logger = options.logger;
  }

  get description(): string {
    return `webcam:${this.#device || 'default'} (fswebcam stills → ${this.width}x${this.height}, low rate)`;
  }

  async start(onFrame: (frame: PooledFrame) => void): Promise<void> {
    const base = process.env.XDG_RUNTIME_DIR ?? (process.platform === 'linux' ? '/dev/shm' : os.tmpdir());
    this.#dir = await mkdtemp(path.join(base, 'mirror-webcam-'));
    const camera = NodeWebcam.create({
      width: this.#capture.width,
      height: this.#capture.height,
      quality: 90,
      delay: 0,
      saveShots: false,
      output: 'jpeg',
      device: this.#device,
      callbackReturn: 'location',
      verbose: false,
    });
    this.#running = true;
    this.#loop = this.#run(camera, onFrame);
  }

  async #run(camera: NodeWebcam.Webcam, onFrame: (frame: PooledFrame) => void): Promise<void> {
    let id = 0;
    const shot = path.join(this.#dir!, 'still.jpg');
    while (this.#running) {
      try {
        await new Promise<void>((resolve, reject) => camera.capture(shot, (err) => (err ? reject(err) : resolve())));
        const jpeg = await readFile(shot);
        await rm(shot, { force: true });
        const data = await sharp(jpeg).removeAlpha().rotate(this.#capture.rotation).resize(this.width, this.height, { fit: 'cover' }).raw().toBuffer();
        this.#backoff.reset();
        this.#health.frames++;
        if (!this.#running) return;
        onFrame({ id: ++id, capturedAt: nowMs(), width: this.width, height: this.height, format: 'rgb24', data, release: () => {} });
      } catch (err) {
        await rm(shot, { force: true });
        this.#health.lastError = (err as Error).message;
        this.#health.restarts++;
        const delay = this.#backoff.next();
        this.#logger.warn({ err: this.#health.lastError, delayMs: delay }, 'webcam still failed, retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  health(): SourceHealth {
    return { ...this.#health };
  }
}
