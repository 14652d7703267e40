/**
 * The kiosk's paint worker: decodes the newest JPEG off the main thread and hands the decoded
 * bitmap to the glass without copying it (an OffscreenCanvas 'bitmaprenderer' context). The
 * cover-fit and the mirror flip are CSS on the canvas element (object-fit: cover, scaleX(-1)),
 * so the compositor scales and flips the frame as it composites it — on the GPU where there is
 * one — and a frame already at the glass's size is shown without rescaling.
 *
 * No work for frames that will not be painted: one frame is decoded at a time, and the next one
 * only once the last decoded frame is on the glass, so a decoded frame is never replaced unpainted.
 * A frame replaced while it waits to be decoded is never decoded. The main thread acknowledges a
 * frame to the daemon only when this worker reports it painted or released (`release`: replaced
 * undecoded, undecodable, or waiting behind a hold), so the daemon sends the next frame when the
 * glass is ready for it, and encodes none that nobody will paint.
 */
import { HOLD_MAX_MS, type FromPainter, type PaintFrameRequest, type ToPainter } from './paint-protocol.ts';

/** What this module needs of DedicatedWorkerGlobalScope (the repo's TS lib is DOM, not WebWorker). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToPainter>) => void) | null;
  postMessage(message: FromPainter): void;
  requestAnimationFrame?: (callback: () => void) => number;
}

interface Decoded {
  id: number;
  bitmap: ImageBitmap;
  decodeMs: number;
}

const scope = self as unknown as WorkerScope;
const nowMs = (): number => performance.timeOrigin + performance.now();
// Chromium gives dedicated workers requestAnimationFrame (paced by the OffscreenCanvas's display).
const nextFrame = scope.requestAnimationFrame?.bind(scope) ?? ((callback: () => void) => setTimeout(callback, 0));

class Painter {
  #canvas: OffscreenCanvas | null = null;
  #glass: ImageBitmapRenderingContext | null = null;
  #pending: PaintFrameRequest | null = null;
  #decoding = false;
  #ready: Decoded | null = null;
  #frameRequested = false;
  #shownId = 0;
  #held = false;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by clear(): a decode that started before it must not put an old frame back. */
  #generation = 0;
  #droppedUndecoded = 0;
  #decodeErrors = 0;
  /** Frames decoded since the last report (each one is painted: see #decodeNext). */
  #decoded = 0;

  handle(msg: ToPainter): void {
    switch (msg.type) {
      case 'init':
        this.#init(msg.canvas);
        break;
      case 'frame':
        if (this.#pending) this.#drop(this.#pending.id);
        this.#pending = msg;
        // Held: the glass will not take it soon; let the daemon send a newer one meanwhile.
        if (this.#held) scope.postMessage({ type: 'release', id: msg.id });
        this.#decodeNext();
        break;
      case 'clear':
        this.#clear();
        break;
      case 'hold':
        this.#hold(msg.on);
        break;
    }
  }

  #init(canvas: OffscreenCanvas): void {
    this.#canvas = canvas;
    this.#glass = canvas.getContext('bitmaprenderer');
    if (!this.#glass) scope.postMessage({ type: 'failed', reason: 'no bitmaprenderer context on the OffscreenCanvas' });
  }

  /** A frame replaced before it was decoded: never decoded, acknowledged now. */
  #drop(id: number): void {
    this.#droppedUndecoded++;
    scope.postMessage({ type: 'release', id });
  }

  #decodeNext(): void {
    // Not while held, and not while a decoded frame waits for the glass: its decode would be thrown away.
    if (this.#decoding || this.#ready || this.#held || !this.#pending) return;
    const { id, bytes, mime } = this.#pending;
    this.#pending = null;
    this.#decoding = true;
    const generation = this.#generation;
    const started = performance.now();
    createImageBitmap(new Blob([bytes], { type: mime || 'image/jpeg' }))
      .then((bitmap) => {
        if (generation !== this.#generation) {
          bitmap.close();
          return;
        }
        this.#decoded++;
        this.#ready = { id, bitmap, decodeMs: performance.now() - started };
        this.#requestFrame();
      })
      .catch(() => {
        this.#decodeErrors++;
        scope.postMessage({ type: 'release', id });
      })
      .finally(() => {
        this.#decoding = false;
        this.#decodeNext();
      });
  }

  #requestFrame(): void {
    if (this.#frameRequested || this.#held || !this.#ready) return;
    this.#frameRequested = true;
    nextFrame(this.#paint);
  }

  #paint = (): void => {
    this.#frameRequested = false;
    const canvas = this.#canvas;
    const glass = this.#glass;
    const frame = this.#ready;
    if (this.#held || !frame || !canvas || !glass) return;
    this.#ready = null;
    // The canvas takes the frame's own size; CSS fits it to the glass.
    if (canvas.width !== frame.bitmap.width || canvas.height !== frame.bitmap.height) {
      canvas.width = frame.bitmap.width;
      canvas.height = frame.bitmap.height;
    }
    glass.transferFromImageBitmap(frame.bitmap); // takes ownership: no copy, no close
    this.#shownId = frame.id;
    scope.postMessage({
      type: 'painted',
      id: frame.id,
      paintedAt: nowMs(),
      decodeMs: frame.decodeMs,
      decoded: this.#decoded,
      droppedUndecoded: this.#droppedUndecoded,
      decodeErrors: this.#decodeErrors,
    });
    this.#decoded = 0;
    this.#droppedUndecoded = 0;
    this.#decodeErrors = 0;
    this.#decodeNext();
  };

  #clear(): void {
    this.#generation++;
    if (this.#pending) scope.postMessage({ type: 'release', id: this.#pending.id });
    this.#pending = null;
    this.#ready?.bitmap.close();
    this.#ready = null;
    this.#shownId = 0;
    this.#glass?.transferFromImageBitmap(null); // transparent: the black page shows through
    if (this.#held) scope.postMessage({ type: 'held', id: 0 });
  }

  #hold(on: boolean): void {
    clearTimeout(this.#holdTimer);
    this.#held = on;
    if (on) this.#holdTimer = setTimeout(() => this.#hold(false), HOLD_MAX_MS);
    scope.postMessage({ type: 'held', id: on ? this.#shownId : null });
    // A frame waiting for the glass is let go, so the daemon's flow does not stall on the hold.
    if (on && this.#pending) scope.postMessage({ type: 'release', id: this.#pending.id });
    if (on && this.#ready) scope.postMessage({ type: 'release', id: this.#ready.id });
    if (!on) {
      this.#requestFrame();
      this.#decodeNext();
    }
  }
}

const painter = new Painter();
scope.onmessage = (event) => painter.handle(event.data);
