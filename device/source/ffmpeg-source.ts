/**
 * A capture child (ffmpeg) writing raw rgb24 frames into preallocated frames (frame-channel.ts).
 * With `reduceBy` it also writes each frame box-averaged by that whole factor to a second pipe
 * (fd 3): the CNNs' small frame, reduced from the decoded YUV before the RGB conversion, where it
 * costs the child about a tenth of what reducing the RGB frame costs the pipeline's thread.
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
import { openFrameChannel } from './frame-channel.ts';
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

/** 8-bit planar YUV in the layouts cameras and clips deliver; negotiation keeps the input's own. */
const PLANAR_YUV = 'yuv420p|yuvj420p|yuv422p|yuvj422p|yuv444p|yuvj444p';

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
  /** Also deliver each frame divided by this whole factor (Frame.reduced); absent or 1: none. */
  reduceBy?: number;
}

export function v4l2InputArgs(device: string, width: number, height: number, fps: number): string[] {
  return ['-f', 'v4l2', '-framerate', String(fps), '-video_size', `${width}x${height}`, '-i', device];
}

export function videoFileInputArgs(file: string): string[] {
  // -re paces a file at its native rate, as a camera would deliver it; -stream_loop loops it (one
  // child for the whole run). One decoder thread: at a paced 30 fps frame threading only adds
  // work on a 2-core mirror (the portrait clip's child 12.4 -> 10.3 ms CPU per frame at load 30).
  return ['-re', '-threads', '1', '-stream_loop', '-1', '-i', file];
}

export class FfmpegSource implements FrameSource {
  readonly width: number;
  readonly height: number;
  readonly #options: FfmpegSourceOptions;
  readonly #pool: FramePool;
  /** The reduced frames' buffers and size, when the child makes them. */
  readonly #reduced: { pool: FramePool; factor: number; width: number; height: number } | null;
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
    const factor = options.reduceBy ?? 1;
    const reduced = { factor, width: Math.floor(this.width / factor), height: Math.floor(this.height / factor) };
    this.#reduced = factor > 1 && reduced.width > 0 && reduced.height > 0 ? { ...reduced, pool: new FramePool(reduced.width * reduced.height * 3) } : null;
  }

  get description(): string {
    const reduced = this.#reduced ? ` + ${this.#reduced.width}x${this.#reduced.height}` : '';
    return `${this.#options.label} (ffmpeg → ${this.width}x${this.height}${reduced} @${this.#options.fps})`;
  }

  /** ffmpeg's arguments: one raw rgb24 output on stdout, and the reduced one on fd 3 when asked. */
  #args(): string[] {
    const { width, height, fps, inputArgs } = this.#options;
    // The filters stay in the camera's planar YUV (pinned: left alone, ffmpeg would convert to rgb24
    // at the first scale and crop, turn and reduce three full bytes a pixel); RGB at the outputs.
    const chain = [`scale=${width}:${height}:force_original_aspect_ratio=increase`, `format=${PLANAR_YUV}`, `crop=${width}:${height}`, `fps=${fps}`, ...orientFilters({ width, height }, this.#options)].join(',');
    // One frame out per frame in, on each output: the two pipes pair up frame by frame.
    const raw = (target: string) => ['-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'rawvideo', target];
    const head = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...inputArgs];
    const r = this.#reduced;
    if (!r) return [...head, '-an', '-vf', chain, ...raw('pipe:1')];
    // Whole blocks only (the top-left factor-multiple), then libswscale's area average: box means.
    const reduce = `crop=${r.width * r.factor}:${r.height * r.factor}:0:0,scale=${r.width}:${r.height}:flags=area`;
    return [...head, '-filter_complex', `[0:v]${chain},split=2[full][cnn];[cnn]${reduce}[small]`, '-map', '[full]', ...raw('pipe:1'), '-map', '[small]', ...raw('pipe:3')];
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
    this.#spawnChild().catch((err: unknown) => {
      // Could not even set up the frame sockets: retried like a child that died at once.
      this.#fail(`capture child not started: ${(err as Error).message}`);
      this.#retry();
    });
  }

  async #spawnChild(): Promise<void> {
    const reduced = this.#reduced;
    // The n-th frame of one stream belongs with the n-th of the other; null: dropped for want of a buffer.
    const fulls: Array<Buffer | null> = [];
    const smalls: Array<Buffer | null> = [];
    const pair = () => {
      while (fulls.length > 0 && (!reduced || smalls.length > 0)) {
        const full = fulls.shift()!;
        const small = reduced ? smalls.shift()! : undefined;
        if (full && small !== null) this.#emit(full, small);
        else {
          if (full) this.#pool.release(full);
          if (small) reduced!.pool.release(small);
          this.#health.poolDrops++;
        }
      }
    };
    const channels = [await openFrameChannel(this.#pool, (b) => (fulls.push(b), pair()))];
    if (reduced) channels.push(await openFrameChannel(reduced.pool, (b) => (smalls.push(b), pair())));
    if (!this.#running) {
      for (const channel of channels) channel.close();
      return;
    }
    const child = spawn(this.#options.ffmpegPath ?? 'ffmpeg', this.#args(), { stdio: ['ignore', channels[0].childEnd, 'pipe', ...(reduced ? [channels[1].childEnd] : [])] });
    for (const channel of channels) channel.detach();
    this.#child = child;
    this.#lastFrameAt = nowMs();
    this.#options.logger.info({ pid: child.pid, source: this.#options.label }, 'capture child started');
    let stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-500);
    });
    child.on('error', (err) => this.#fail(`capture child failed to start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = null;
      for (const channel of channels) channel.close();
      for (const b of fulls.splice(0)) if (b) this.#pool.release(b);
      for (const b of smalls.splice(0)) if (b) reduced!.pool.release(b);
      if (!this.#running) return;
      this.#fail(`capture child exited (code ${code}, signal ${signal})${stderrTail ? `: ${stderrTail.trim()}` : ''}`);
      this.#retry();
    });
  }

  #retry(): void {
    const delay = this.#backoff.next();
    this.#health.restarts++;
    this.#options.logger.warn({ delayMs: delay, restarts: this.#health.restarts }, 'restarting capture child');
    this.#restartTimer = setTimeout(() => this.#spawnWhenPresent(), delay);
  }

  #emit(data: Buffer, small?: Buffer): void {
    const now = nowMs();
    // A few seconds of steady frames means the device is healthy again.
    if (this.#health.frames % 150 === 0) this.#backoff.reset();
    this.#lastFrameAt = now;
    this.#health.frames++;
    if (this.#status?.state !== 'live') this.#setStatus('live', null);
    const pool = this.#pool;
    const r = this.#reduced;
    let released = false;
    this.#onFrame?.({
      id: this.#nextId++,
      capturedAt: now,
      width: this.width,
      height: this.height,
      format: 'rgb24',
      data,
      ...(r && small && { reduced: { factor: r.factor, width: r.width, height: r.height, data: small } }),
      release: () => {
        if (released) return;
        released = true;
        pool.release(data);
        if (r && small) r.pool.release(small);
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
