/**
 * The kiosk's paint worker: decodes the newest JPEG off the main thread and hands the decoded
 * bitmap to the glass without copying it (an OffscreenCanvas 'bitmaprenderer' context). The
 * cover-fit and the mirror flip are CSS on the canvas element (object-fit: cover, scaleX(-1)),
 * so the compositor scales and flips the frame as it composites it — on the GPU where there is
 * one — and a frame already at the glass's size is shown without rescaling.
 *
 * Latest frame wins: one decode at a time, a newer arrival replaces the one waiting, and only the
 * newest decoded bitmap is put on the glass at the next animation frame; the others are dropped
 * and counted.
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
  #droppedDecoded = 0;
  #decodeErrors = 0;

  handle(msg: ToPainter): void {
    switch (msg.type) {
      case 'init':
        this.#init(msg.canvas);
        break;
      case 'frame':
        if (this.#pending) this.#droppedUndecoded++;
        this.#pending = msg;
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

  #decodeNext(): void {
    if (this.#decoding || !this.#pending) return;
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
        if (this.#ready) {
          this.#ready.bitmap.close();
          this.#droppedDecoded++;
        }
        this.#ready = { id, bitmap, decodeMs: performance.now() - started };
        this.#requestFrame();
      })
      .catch(() => {
        this.#decodeErrors++;
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
      droppedUndecoded: this.#droppedUndecoded,
      droppedDecoded: this.#droppedDecoded,
      decodeErrors: this.#decodeErrors,
    });
    this.#droppedUndecoded = 0;
    this.#droppedDecoded = 0;
    this.#decodeErrors = 0;
  };

  #clear(): void {
    this.#generation++;
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
    if (!on) this.#requestFrame();
  }
}

const painter = new Painter();
scope.onmessage = (event) => painter.handle(event.data);
