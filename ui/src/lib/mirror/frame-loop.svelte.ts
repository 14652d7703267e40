import type { FaceMessage, FrameMessage, PaintedMessage } from '../../../../device/transport/events.ts';
import { coverFit } from '../geometry.ts';
import { RateMeter, SampleWindow } from '../metrics.ts';
import { drawFaces, drawFrame } from './draw.ts';

/** The frame on the glass now. */
export interface PaintedFrame {
  id: number;
  capturedAt: number;
  paintedAt: number;
  width: number;
  height: number;
  faces: FaceMessage[];
  applied: string[];
}

/** What the browser itself measured, refreshed a few times a second for the HUD. */
export interface BrowserMetrics {
  paintedFps: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  decodeP50Ms: number;
  received: number;
  painted: number;
  /** Frames replaced by a newer one before they were painted (undecoded or decoded). */
  dropped: number;
  /** Of those, replaced while waiting to decode (decode is the bottleneck). */
  droppedUndecoded: number;
  decodeErrors: number;
}

export interface FrameLoopOptions {
  /** Called after each paint with the frame id and the paint time (ms since the epoch). */
  onPainted?: (msg: PaintedMessage) => void;
  /** No face for this long and the shopper is considered gone. */
  faceGoneMs?: number;
}

interface Decoded {
  frame: FrameMessage;
  bitmap: ImageBitmap;
}

/** Same clock as the daemon's `capturedAt` (ms since the epoch, sub-ms). */
const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Latest-frame-wins: at most one JPEG decodes at a time, a newer arrival replaces the waiting
 * one, and the newest decoded bitmap is painted on the next animation frame. Nothing queues.
 */
export class FrameLoop {
  /** Per-frame data, replaced whole on every paint. */
  current = $state.raw<PaintedFrame | null>(null);
  /** A face was on the glass within the last `faceGoneMs`. */
  facePresent = $state(false);
  metrics = $state.raw<BrowserMetrics>(emptyMetrics());
  /** The canvas's size in CSS pixels (what overlays on the mirror line up with). */
  glass = $state.raw({ width: 0, height: 0 });

  readonly #onPainted: FrameLoopOptions['onPainted'];
  readonly #faceGoneMs: number;

  #canvas: HTMLCanvasElement | null = null;
  #ctx: CanvasRenderingContext2D | null = null;
  #pending: FrameMessage | null = null;
  #decoding = false;
  #ready: Decoded | null = null;
  #shown: Decoded | null = null;
  #raf = 0;
  #dirty = false;
  #showFaces = false;
  #lastFaceAt = -Infinity;
  /** Bumped by clear(): a decode that started before it must not put an old frame back. */
  #generation = 0;

  readonly #fps = new RateMeter(1000);
  readonly #latency = new SampleWindow(300);
  readonly #decodeMs = new SampleWindow(120);
  #received = 0;
  #painted = 0;
  #dropped = 0;
  #droppedUndecoded = 0;
  #decodeErrors = 0;

  constructor(options: FrameLoopOptions = {}) {
    this.#onPainted = options.onPainted;
    this.#faceGoneMs = options.faceGoneMs ?? 1500;
  }

  /** Debug overlay (face box and mesh points). */
  set showFaces(on: boolean) {
    if (on === this.#showFaces) return;
    this.#showFaces = on;
    this.#redraw();
  }

  get showFaces(): boolean {
    return this.#showFaces;
  }

  /** Hand a frame from the socket. Never blocks; an older undecoded frame is dropped. */
  receive = (frame: FrameMessage): void => {
    this.#received++;
    if (this.#pending) {
      this.#dropped++;
      this.#droppedUndecoded++;
    }
    this.#pending = frame;
    this.#decodeNext();
  };

  /** Svelte attachment for the mirror canvas: `<canvas {@attach loop.attach}>`. */
  attach = (canvas: HTMLCanvasElement): (() => void) => {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d', { alpha: false });
    const resize = new ResizeObserver(() => this.#fitCanvas());
    resize.observe(canvas);
    this.#fitCanvas();
    const tick = setInterval(() => this.#tick(), 250);
    return () => {
      clearInterval(tick);
      resize.disconnect();
      cancelAnimationFrame(this.#raf);
      this.#raf = 0;
      this.#canvas = null;
      this.#ctx = null;
    };
  };

  /** Wipe the glass (the daemon went away: do not leave the last shopper on screen). */
  clear(): void {
    this.#generation++;
    this.#pending = null;
    this.#ready?.bitmap.close();
    this.#ready = null;
    this.#shown?.bitmap.close();
    this.#shown = null;
    this.current = null;
    this.facePresent = false;
    this.#lastFaceAt = -Infinity;
    this.#redraw();
  }

  #decodeNext(): void {
    if (this.#decoding || !this.#pending) return;
    const frame = this.#pending;
    this.#pending = null;
    this.#decoding = true;
    const generation = this.#generation;
    const started = performance.now();
    const blob = new Blob([frame.image as BlobPart], { type: frame.mime || 'image/jpeg' });
    createImageBitmap(blob)
      .then((bitmap) => {
        if (generation !== this.#generation) {
          bitmap.close();
          return;
        }
        this.#decodeMs.add(performance.now() - started);
        if (this.#ready) {
          this.#ready.bitmap.close();
          this.#dropped++;
        }
        this.#ready = { frame, bitmap };
        this.#schedule();
      })
      .catch(() => {
        this.#decodeErrors++;
      })
      .finally(() => {
        this.#decoding = false;
        this.#decodeNext();
      });
  }

  #schedule(): void {
    if (!this.#raf && this.#canvas) this.#raf = requestAnimationFrame(this.#paint);
  }

  #redraw(): void {
    this.#dirty = true;
    this.#schedule();
  }

  #fitCanvas(): void {
    const canvas = this.#canvas;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    if (this.glass.width !== canvas.clientWidth || this.glass.height !== canvas.clientHeight) {
      this.glass = { width: canvas.clientWidth, height: canvas.clientHeight };
    }
    const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    this.#redraw();
  }

  #paint = (): void => {
    this.#raf = 0;
    const canvas = this.#canvas;
    const ctx = this.#ctx;
    if (!canvas || !ctx) return;

    const fresh = this.#ready;
    if (fresh) {
      this.#shown?.bitmap.close();
      this.#shown = fresh;
      this.#ready = null;
    } else if (!this.#dirty) {
      return;
    }
    this.#dirty = false;

    const shown = this.#shown;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!shown) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const { frame, bitmap } = shown;
    const fit = coverFit(bitmap.width, bitmap.height, canvas.width, canvas.height);
    if (fit.dx > 0 || fit.dy > 0) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    drawFrame(ctx, bitmap, fit, canvas.width);
    if (this.#showFaces) {
      // Landmarks are in the frame's pixels; the bitmap is the same frame, so the same fit holds
      // unless the daemon ever sends a scaled image (then scale the points with it).
      const sx = bitmap.width / frame.width;
      drawFaces(ctx, sx === 1 ? frame.faces : scaleFaces(frame.faces, sx), fit, canvas.width, window.devicePixelRatio || 1);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!fresh) return;

    const paintedAt = nowMs();
    this.#painted++;
    this.#fps.mark(performance.now());
    this.#latency.add(paintedAt - frame.capturedAt);
    canvas.dataset.frameId = String(frame.id);
    canvas.dataset.painted = String(this.#painted);
    canvas.dataset.faces = String(frame.faces.length);
    this.#onPainted?.({ id: frame.id, paintedAt });

    if (frame.faces.length > 0) {
      this.#lastFaceAt = paintedAt;
      this.facePresent = true;
    }
    this.current = {
      id: frame.id,
      capturedAt: frame.capturedAt,
      paintedAt,
      width: frame.width,
      height: frame.height,
      faces: frame.faces,
      applied: frame.applied,
    };
  };

  /** A few times a second: face-gone timeout and the HUD's numbers. */
  #tick(): void {
    if (this.facePresent && nowMs() - this.#lastFaceAt > this.#faceGoneMs) this.facePresent = false;
    const [p50, p95] = this.#latency.percentiles(50, 95);
    const [decodeP50] = this.#decodeMs.percentiles(50);
    this.metrics = {
      paintedFps: this.#fps.rate(performance.now()),
      latencyP50Ms: p50,
      latencyP95Ms: p95,
      decodeP50Ms: decodeP50,
      received: this.#received,
      painted: this.#painted,
      dropped: this.#dropped,
      droppedUndecoded: this.#droppedUndecoded,
      decodeErrors: this.#decodeErrors,
    };
  }
}

function scaleFaces(faces: readonly FaceMessage[], s: number): FaceMessage[] {
  return faces.map((f) => ({
    score: f.score,
    box: { x: f.box.x * s, y: f.box.y * s, width: f.box.width * s, height: f.box.height * s },
    landmarks: f.landmarks.map(([x, y, z]) => [x * s, y * s, z * s] as [number, number, number]),
  }));
}

function emptyMetrics(): BrowserMetrics {
  return {
    paintedFps: 0,
    latencyP50Ms: Number.NaN,
    latencyP95Ms: Number.NaN,
    decodeP50Ms: Number.NaN,
    received: 0,
    painted: 0,
    dropped: 0,
    droppedUndecoded: 0,
    decodeErrors: 0,
  };
}
