/**
 * Messages between the kiosk's main thread and its paint worker (paint-worker.ts). The main thread
 * only hands over the JPEG bytes (transferred, not copied); the worker decodes the newest one and
 * puts it on the glass, so neither decoding nor painting waits for the UI.
 */

/** A frame to paint: its id and the encoded image (the buffer is transferred). */
export interface PaintFrameRequest {
  type: 'frame';
  id: number;
  mime: string;
  bytes: ArrayBuffer;
}

export type ToPainter =
  | { type: 'init'; canvas: OffscreenCanvas }
  | PaintFrameRequest
  /** Wipe the glass and forget anything waiting (the daemon or its camera went away). */
  | { type: 'clear' }
  /**
   * Freeze the glass on the frame it shows (on) or let it follow the stream again (off): a test or
   * a technician reading the glass's pixels needs to know which frame they belong to. Frames keep
   * arriving and being replaced meanwhile; a hold lets go by itself after HOLD_MAX_MS.
   */
  | { type: 'hold'; on: boolean };

/** Sent once per frame put on the glass. */
export interface PaintedReport {
  type: 'painted';
  id: number;
  /** ms since the epoch, the same clock as the daemon's capturedAt. */
  paintedAt: number;
  /** Time to decode this frame. */
  decodeMs: number;
  /** Frames decoded since the last report (this one included): one, unless a clear threw one away. */
  decoded: number;
  /** Frames replaced by a newer one before they were decoded (never decoded), since the last report. */
  droppedUndecoded: number;
  decodeErrors: number;
}

export type FromPainter =
  | PaintedReport
  /**
   * The worker is done with frame `id` without painting it now (replaced before decoding, not
   * decodable, or waiting behind a hold): acknowledge it, so the daemon may send the next.
   */
  | { type: 'release'; id: number }
  /** The glass is held on frame `id` (0: nothing painted), or released (`id` null). */
  | { type: 'held'; id: number | null }
  /** The worker could not start painting (no OffscreenCanvas bitmap renderer). */
  | { type: 'failed'; reason: string };

export const HOLD_MAX_MS = 5000;
