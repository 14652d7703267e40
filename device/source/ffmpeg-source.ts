/**
 * A capture child (ffmpeg) writing raw rgb24 frames to stdout, cut into preallocated frames.
 * The supervisor names its failures as Frigate does (child died, no frames for N s) and restarts
 * the child with jittered exponential backoff; a healthy stretch resets the backoff. While the
 * input (camera device or file) is absent it is polled, not spawned for, and the source reports
 * itself lost; a camera that comes back is picked up within 2 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Backoff } from '../core/backoff.ts';
import { nowMs } from '../core/frame.ts';
import type { PooledFrame } from '../core/flow-limiter.ts';
import { FramePool } from './frame-pool.ts';
import type { FrameSource, SourceHealth, SourceLogger, SourceStatus } from './source.ts';
import { orientFilters, uprightSize, type Orientation } from './orientation.ts';

/**
 * Restart delays stay under 1 s, and an absent input is looked for every 250 ms: with the child's
 * own start (100-500 ms to open a v4l2 device) a returning camera is back within 2 s. A child
 * that dies at once costs one spawn a second at most.
 */
export const RESTART_BACKOFF = { initialMs: 250, maxMs: 1000 } as const;
export const INPUT_POLL_MS = 250;

export interface FfmpegSourceOptions extends Orientation {
  /** e.g. "v4l2:/dev/video0" or "clip:demo.mp4", for logs and /healthz. */
  label: string;
  /** ffmpeg arguments that select and open the input (everything before the output options). */
  inputArgs: string[];
  /** The device or file the input opens: while it is absent, the source waits for it. */
  inputPath?: string;
  /** The capture size, in the sensor's orientation (frames are this size turned upright). */
  width: number;
  height: number;
  fps: number;
  logger: SourceLogger;
  /** Restart the child when no frame arrived for this long. */
  stallMs?: number;
  ffmpegPath?: string;
}

export function v4l2InputArgs(device: string, width: number, height: number, fps: number): string[] {
  return ['-f', 'v4l2', '-framerate', String(fps), '-video_size', `${width}x${height}`, '-i', device];
}

export function videoFileInputArgs(file: string): string[] {
  // -re paces a file at its native rate, as a camera would deliver it; -stream_loop loops it.
  return ['-re', '-stream_loop', '-1', '-i', file];
}

export class FfmpegSource implements FrameSource {
  readonly width: number;
  readonly height: number;
  readonly #options: FfmpegSourceOptions;
  readonly #pool: FramePool;
  readonly #backoff = new Backoff(RESTART_BACKOFF);
  #child: ChildProcess | null = null;
  #running = false;
  #onFrame: ((frame: PooledFrame) => void) | null = null;
  #onStatus: ((status: SourceStatus) => void) | null = null;
  #status: SourceStatus | null = null;
  #nextId = 1;
  #lastFrameAt = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #stallTimer: NodeJS.Timeout | null = null;
  #health: SourceHealth = { frames: 0, poolDrops: 0, restarts: 0, skippedTicks: 0, lastError: null };

  constructor(options: FfmpegSourceOptions) {
    this.#options = options;
    const upright = uprightSize(options, options.rotation ?? 0);
    this.width = upright.width;
    this.height = upright.height;
    this.#pool = new FramePool(options.width * options.height * 3);
  }

  get description(): string {
    return `${this.#options.label} (ffmpeg → ${this.width}x${this.height} @${this.#options.fps})`;
  }

  /** PID of the running capture child, for supervision and tests. */
  get childPid(): number | undefined {
    return this.#child?.pid;
  }

  async start(onFrame: (frame: PooledFrame) => void, onStatus?: (status: SourceStatus) => void): Promise<void> {
    this.#onFrame = onFrame;
    this.#onStatus = onStatus ?? null;
    this.#running = true;
    this.#spawnWhenPresent();
    const stallMs = this.#options.stallMs ?? 5000;
    this.#stallTimer = setInterval(() => {
      if (this.#child && this.#lastFrameAt && nowMs() - this.#lastFrameAt > stallMs) {
        this.#fail(`no frames for ${stallMs} ms`);
        this.#child.kill('SIGKILL');
      }
    }, Math.min(1000, stallMs));
  }

  /** Spawns the child once its input exists; an absent camera is polled cheaply, not spawned for. */
  #spawnWhenPresent(): void {
    this.#restartTimer = null;
    if (!this.#running) return;
    const input = this.#options.inputPath;
    if (input !== undefined && !existsSync(input)) {
      this.#setStatus('lost', `${input} is not present`);
      this.#restartTimer = setTimeout(() => this.#spawnWhenPresent(), INPUT_POLL_MS);
      return;
    }
    this.#spawn();
  }

  #spawn(): void {
    const { width, height, fps, inputArgs } = this.#options;
    const filters = [`scale=${width}:${height}:force_original_aspect_ratio=increase`, `crop=${width}:${height}`, `fps=${fps}`, ...orientFilters({ width, height }, this.#options)];
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      ...inputArgs,
      '-an', '-vf', filters.join(','),
      '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
    ];
    const child = spawn(this.#options.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#lastFrameAt = nowMs();
    this.#options.logger.info({ pid: child.pid, source: this.#options.label }, 'capture child started');
    const frameBytes = this.#pool.byteLength;
    let current: Buffer | null = null;
    let filled = 0;
    let stderrTail = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      let offset = 0;
      while (offset < chunk.length) {
        if (!current) {
          current = this.#pool.acquire();
          // Every buffer busy: read into a scratch buffer and drop the frame rather than queue it.
          if (!current) {
            this.#health.poolDrops++;
            current = Buffer.allocUnsafe(frameBytes);
          }
          filled = 0;
        }
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          this.#emit(current);
          current = null;
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-500);
    });
    child.on('error', (err) => this.#fail(`capture child failed to start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = null;
      if (current) this.#pool.release(current);
      if (!this.#running) return;
      this.#fail(`capture child exited (code ${code}, signal ${signal})${stderrTail ? `: ${stderrTail.trim()}` : ''}`);
      const delay = this.#backoff.next();
      this.#health.restarts++;
      this.#options.logger.warn({ delayMs: delay, restarts: this.#health.restarts }, 'restarting capture child');
      this.#restartTimer = setTimeout(() => this.#spawnWhenPresent(), delay);
    });
  }

  #emit(data: Buffer): void {
    const now = nowMs();
    // A few seconds of steady frames means the device is healthy again.
    if (this.#health.frames % 150 === 0) this.#backoff.reset();
    this.#lastFrameAt = now;
    this.#health.frames++;
    if (this.#status?.state !== 'live') this.#setStatus('live', null);
    const pool = this.#pool;
    let released = false;
    this.#onFrame?.({
      id: this.#nextId++,
      capturedAt: now,
      width: this.width,
      height: this.height,
      format: 'rgb24',
      data,
      release: () => {
        if (!released) pool.release(data);
        released = true;
      },
    });
  }

  #fail(reason: string): void {
    this.#health.lastError = reason;
    this.#options.logger.warn({ source: this.#options.label, reason }, 'capture failure');
    this.#setStatus('lost', reason);
  }

  /** Reports a change between live and lost (once per change, not per retry). */
  #setStatus(state: SourceStatus['state'], reason: string | null): void {
    if (this.#status?.state === state) return;
    this.#status = { state, reason, since: Date.now() };
    if (state === 'lost') this.#options.logger.warn({ source: this.#options.label, reason }, 'camera lost; retrying');
    else this.#options.logger.info({ source: this.#options.label, frames: this.#health.frames }, 'camera live');
    this.#onStatus?.({ ...this.#status });
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }

  health(): SourceHealth {
    return { ...this.#health };
  }
}
