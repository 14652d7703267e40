/**
 * Per-frame scratch memory for the try-on stage. A full look at 1280x720 builds tens of
 * frame-sized coverage, visibility and blur buffers per frame; allocating them fresh made the
 * garbage collector the largest single cost of the renderer. While the stage renders a frame it
 * makes its arena current (`withArena`), and the rasteriser, masks, gate and renderers take their
 * per-frame buffers with `f32` / `u8` / `i32`: views into one reused block, zero-filled like a
 * new typed array. Outside an arena (tests, tools building one context) these allocate as usual,
 * so a caller that keeps a mask beyond the frame is only ever handed memory of its own.
 *
 * Nothing taken from the arena may outlive the frame: the stage resets it before the next one.
 * State kept across frames (gate hysteresis, scratch planes, sparkle fields) is allocated normally.
 */

type View = Float32Array | Uint8Array | Int32Array;
type ViewCtor<T extends View> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; new (length: number): T; BYTES_PER_ELEMENT: number };

export class FrameArena {
  #block = new ArrayBuffer(0);
  #used = 0;
  /** Bytes asked for this frame past the block's end (served by plain allocation): the block grows by it at the next reset. */
  #missed = 0;

  take<T extends View>(ctor: ViewCtor<T>, length: number): T {
    const at = (this.#used + 7) & ~7;
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    if (at + bytes > this.#block.byteLength) {
      this.#missed += bytes + 8;
      return new ctor(length);
    }
    this.#used = at + bytes;
    const view = new ctor(this.#block, at, length);
    view.fill(0);
    return view;
  }

  /** Forgets this frame's buffers (their memory is handed out again); grows the block if the frame needed more. */
  reset(): void {
    if (this.#missed > 0) this.#block = new ArrayBuffer(Math.ceil((this.#used + this.#missed) * 1.25));
    this.#used = 0;
    this.#missed = 0;
  }
}

let current: FrameArena | null = null;

/** Runs `fn` with `arena` as the source of per-frame buffers. */
export function withArena<T>(arena: FrameArena, fn: () => T): T {
  const previous = current;
  current = arena;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** A zeroed Float32Array of `length` for this frame's use only. */
export const f32 = (length: number): Float32Array => (current ? current.take(Float32Array, length) : new Float32Array(length));
export const u8 = (length: number): Uint8Array => (current ? current.take(Uint8Array, length) : new Uint8Array(length));
export const i32 = (length: number): Int32Array => (current ? current.take(Int32Array, length) : new Int32Array(length));
