import { untrack } from 'svelte';
import type { FaceMessage, FrameMessage, PaintedMessage } from '../../../../device/transport/events.ts';
import { coverFit } from '../geometry.ts';
import { RateMeter, SampleWindow } from '../metrics.ts';
import { drawFaces } from './draw.ts';
import type { FromPainter, PaintedReport, ToPainter } from './paint-protocol.ts';

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
  /** Frames decoded: each one is painted, unless the glass was wiped meanwhile. */
  decoded: number;
  /** Frames replaced by a newer one before they were painted (the worker never decodes those). */
  dropped: number;
  /** The same: frames are dropped only before decoding (kept for the HUD's wording). */
  droppedUndecoded: number;
  decodeErrors: number;
}

/** One painted frame's timeline (ms since the epoch), for the kiosk bench. */
export interface PaintSample {
  id: number;
  capturedAt: number;
  emittedAt: number;
  receivedAt: number;
  paintedAt: number;
  decodeMs: number;
  /** The frame's size as sent (what the worker decoded). */
  width: number;
  height: number;
}

export interface FrameLoopOptions {
  /** Called after each paint with the frame id and the paint time (ms since the epoch). */
  onPainted?: (msg: PaintedMessage) => void;
  /** Every painted frame's timeline (the bench; `?bench=1`). */
  onSample?: (sample: PaintSample) => void;
  /** The mirror's box changed size (device pixels): the daemon need send no more than this. */
  onGlass?: (glass: { width: number; height: number; devicePixelRatio: number }) => void;
  /** No face for this long and the shopper is considered gone. */
  faceGoneMs?: number;
}

/** What the main thread keeps of a frame while the worker decodes it. */
type FrameMeta = Omit<PaintedFrame, 'paintedAt'> & { emittedAt: number; receivedAt: number };

/** Same clock as the daemon's `capturedAt` (ms since the epoch, sub-ms). */
const nowMs = (): number => performance.timeOrigin + performance.now();
/** Frames handed to the worker and not yet painted or dropped; more means the worker fell behind. */
const META_KEPT = 16;

/**
 * The glass's frame loop. The socket's frames go straight to a paint worker (paint-worker.ts),
 * which decodes the newest off the main thread and puts it on the mirror canvas; this side keeps
 * each frame's faces and timing until the worker says it was painted, then publishes them (the
 * shopper's UI, the HUD, the daemon's `painted`).
 *
 * Each frame's acknowledgement to the daemon (`done`) is held until the worker painted it (or let
 * it go unpainted: replaced before decoding, undecodable, held, wiped): the daemon sends a kiosk
 * its next frame only after the acknowledgement, so it sends — and encodes — frames at the rate
 * the glass paints them, and the kiosk never receives or decodes a frame it will not paint.
 */
export class FrameLoop {
  /** Per-frame data, replaced whole on every paint. */
  current = $state.raw<PaintedFrame | null>(null);
  /** A face was on the glass within the last `faceGoneMs`. */
  facePresent = $state(false);
  metrics = $state.raw<BrowserMetrics>(emptyMetrics());
  /** The canvas's size in CSS pixels (what overlays on the mirror line up with). */
  glass = $state.raw({ width: 0, height: 0 });
  /** Debug overlay (face box and mesh points) on its own canvas above the mirror. */
  showFaces = $state(false);

  readonly #onPainted: FrameLoopOptions['onPainted'];
  readonly #onSample: FrameLoopOptions['onSample'];
  readonly #onGlass: FrameLoopOptions['onGlass'];
  readonly #faceGoneMs: number;

  #canvas: HTMLCanvasElement | null = null;
  #worker: Worker | null = null;
  #overlay: CanvasRenderingContext2D | null = null;
  // Frames in the worker, by id: plain bookkeeping, never rendered.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #inFlight = new Map<number, FrameMeta>();
  /** Acknowledgements to the daemon of the frames in the worker, called once painted or let go. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #acks = new Map<number, () => void>();
  #lastFaceAt = -Infinity;

  readonly #fps = new RateMeter(1000);
  readonly #latency = new SampleWindow(300);
  readonly #decodeMs = new SampleWindow(120);
  #received = 0;
  #decoded = 0;
  #painted = 0;
  #dropped = 0;
  #droppedUndecoded = 0;
  #decodeErrors = 0;

  constructor(options: FrameLoopOptions = {}) {
    this.#onPainted = options.onPainted;
    this.#onSample = options.onSample;
    this.#onGlass = options.onGlass;
    this.#faceGoneMs = options.faceGoneMs ?? 1500;
  }

  /**
   * Hand a frame from the socket; `done` acknowledges it to the daemon and is called once, when the
   * glass is ready for the next frame. Never blocks: the bytes move to the worker without a copy.
   */
  receive = (frame: FrameMessage, done: () => void = () => {}): void => {
    const worker = this.#worker;
    if (!worker) return done();
    this.#received++;
    this.#acks.get(frame.id)?.(); // the same id again (a resend): the older hand-over is done
    this.#acks.set(frame.id, done);
    const receivedAt = nowMs();
    this.#inFlight.set(frame.id, {
      id: frame.id,
      capturedAt: frame.capturedAt,
      emittedAt: frame.emittedAt,
      receivedAt,
      width: frame.width,
      height: frame.height,
      faces: frame.faces,
      applied: frame.applied,
    });
    if (this.#inFlight.size > META_KEPT) this.#inFlight.delete(this.#inFlight.keys().next().value!);
    if (this.#acks.size > META_KEPT) this.#ack(this.#acks.keys().next().value!);
    const bytes = ownBuffer(frame.image);
    this.#post({ type: 'frame', id: frame.id, mime: frame.mime || 'image/jpeg', bytes }, [bytes]);
  };

  /**
   * Svelte attachment for the mirror canvas: `<canvas {@attach loop.attach}>`. Untracked: an
   * attachment re-runs when state it reads changes, and a canvas hands its control to a worker once.
   */
  attach = (canvas: HTMLCanvasElement): (() => void) => untrack(() => this.#attach(canvas));

  #attach(canvas: HTMLCanvasElement): () => void {
    this.#canvas = canvas;
    // Vite bundles the worker from exactly this `new Worker(new URL(..., import.meta.url))` form.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const worker = new Worker(new URL('./paint-worker.ts', import.meta.url), { type: 'module', name: 'mirror-paint' });
    worker.onmessage = (event: MessageEvent<FromPainter>) => this.#fromWorker(event.data);
    const offscreen = canvas.transferControlToOffscreen();
    this.#worker = worker;
    this.#post({ type: 'init', canvas: offscreen }, [offscreen]);
    const hold = (event: Event) => this.#post({ type: 'hold', on: (event as CustomEvent<boolean>).detail === true });
    canvas.addEventListener('mirror:hold', hold);
    const resize = new ResizeObserver(() => this.#measureGlass());
    resize.observe(canvas);
    this.#measureGlass();
    const tick = setInterval(() => this.#tick(), 250);
    return () => {
      clearInterval(tick);
      resize.disconnect();
      canvas.removeEventListener('mirror:hold', hold);
      worker.terminate();
      this.#worker = null;
      this.#canvas = null;
      this.#inFlight.clear();
      this.#ackAll();
    };
  }

  /** Svelte attachment for the debug overlay canvas (only there while `showFaces`). */
  attachOverlay = (canvas: HTMLCanvasElement): (() => void) => {
    this.#overlay = canvas.getContext('2d');
    untrack(() => this.#drawOverlay());
    return () => {
      this.#overlay = null;
    };
  };

  /** Wipe the glass (the daemon went away: do not leave the last shopper on screen). */
  clear(): void {
    this.#post({ type: 'clear' });
    this.#inFlight.clear();
    this.#ackAll();
    this.current = null;
    this.facePresent = false;
    this.#lastFaceAt = -Infinity;
    this.#drawOverlay();
  }

  #post(msg: ToPainter, transfer: Transferable[] = []): void {
    this.#worker?.postMessage(msg, transfer);
  }

  #ack(id: number): void {
    const done = this.#acks.get(id);
    this.#acks.delete(id);
    done?.();
  }

  #ackUpTo(id: number): void {
    for (const waiting of [...this.#acks.keys()]) if (waiting <= id) this.#ack(waiting);
  }

  #ackAll(): void {
    const acks = [...this.#acks.values()];
    this.#acks.clear();
    for (const done of acks) done();
  }

  #fromWorker(msg: FromPainter): void {
    if (msg.type === 'painted') this.#onPaint(msg);
    else if (msg.type === 'release') this.#ack(msg.id);
    else if (msg.type === 'held' && this.#canvas) {
      if (msg.id === null) delete this.#canvas.dataset.held;
      else this.#canvas.dataset.held = String(msg.id);
    } else if (msg.type === 'failed') console.error(`mirror paint worker: ${msg.reason}`);
  }

  #onPaint(report: PaintedReport): void {
    const canvas = this.#canvas;
    const frame = this.#inFlight.get(report.id);
    // Everything older than the painted frame was dropped by the worker.
    for (const id of this.#inFlight.keys()) if (id <= report.id) this.#inFlight.delete(id);
    this.#decoded += report.decoded;
    this.#dropped += report.droppedUndecoded;
    this.#droppedUndecoded += report.droppedUndecoded;
    this.#decodeErrors += report.decodeErrors;
    if (!frame || !canvas) {
      this.#ackUpTo(report.id);
      return; // cleared while it decoded
    }
    const { paintedAt } = report;
    this.#painted++;
    this.#fps.mark(performance.now());
    this.#latency.add(paintedAt - frame.capturedAt);
    this.#decodeMs.add(report.decodeMs);
    canvas.dataset.frameId = String(frame.id);
    canvas.dataset.painted = String(this.#painted);
    canvas.dataset.faces = String(frame.faces.length);
    canvas.dataset.received = String(this.#received);
    canvas.dataset.decoded = String(this.#decoded);
    // `painted` first, then the acknowledgement that releases the next frame (older ones the
    // worker dropped are acknowledged with it).
    this.#onPainted?.({ id: frame.id, paintedAt });
    this.#ackUpTo(frame.id);
    this.#onSample?.({ id: frame.id, capturedAt: frame.capturedAt, emittedAt: frame.emittedAt, receivedAt: frame.receivedAt, paintedAt, decodeMs: report.decodeMs, width: frame.width, height: frame.height });

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
    this.#drawOverlay();
  }

  #measureGlass(): void {
    const canvas = this.#canvas;
    if (!canvas) return;
    if (this.glass.width !== canvas.clientWidth || this.glass.height !== canvas.clientHeight) {
      this.glass = { width: canvas.clientWidth, height: canvas.clientHeight };
      const dpr = window.devicePixelRatio || 1;
      this.#onGlass?.({ width: Math.round(canvas.clientWidth * dpr), height: Math.round(canvas.clientHeight * dpr), devicePixelRatio: dpr });
    }
  }

  /** The debug overlay: landmarks are in the frame's pixels, fitted and mirrored as the glass shows the frame. */
  #drawOverlay(): void {
    const ctx = this.#overlay;
    if (!ctx) return;
    const canvas = ctx.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const frame = this.current;
    if (!frame) return;
    drawFaces(ctx, frame.faces, coverFit(frame.width, frame.height, width, height), width, dpr);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

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
      decoded: this.#decoded,
      painted: this.#painted,
      dropped: this.#dropped,
      droppedUndecoded: this.#droppedUndecoded,
      decodeErrors: this.#decodeErrors,
    };
  }
}

/**
 * The frame's bytes as an ArrayBuffer this page may give away: socket.io hands each binary
 * attachment over as its own ArrayBuffer (transferred as is); a view into a larger buffer is copied.
 */
function ownBuffer(image: FrameMessage['image'] | ArrayBuffer): ArrayBuffer {
  if (image instanceof ArrayBuffer) return image;
  if (image.byteOffset === 0 && image.byteLength === image.buffer.byteLength && image.buffer instanceof ArrayBuffer) return image.buffer;
  return image.slice().buffer as ArrayBuffer;
}

function emptyMetrics(): BrowserMetrics {
  return {
    paintedFps: 0,
    latencyP50Ms: Number.NaN,
    latencyP95Ms: Number.NaN,
    decodeP50Ms: Number.NaN,
    received: 0,
    decoded: 0,
    painted: 0,
    dropped: 0,
    droppedUndecoded: 0,
    decodeErrors: 0,
  };
}
