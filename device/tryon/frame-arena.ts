/**
 * Per-frame scratch memory for the try-on stage. A full look at 1280x720 builds tens of
 * frame-sized coverage, visibility and blur buffers per frame; allocating them fresh made the
 * garbage collector the largest single cost of the renderer. While the stage renders a frame it
 * makes its arena current (`withArena`), and the rasteriser, masks, gate and renderers take their
 * per-frame buffers with `f32` / `u8` / `i32`: views into one reused block, zero-filled like a
 * new typed array. Outside an arena (tests, tools building one context) these allocate as usual,
 * so a caller that keeps a mask beyond the frame is only ever handed memory of its own.
 *
 * The stage's arena lies in its SIMD kernels' memory (simd/kernels.ts): a kernel given buffers
 * taken here reads them where they are.
 *
 * Nothing taken from the arena may outlive the frame: the stage resets it before the next one, and
 * growing the kernels' memory (only ever at a reset) detaches every view taken before.
 * State kept across frames (gate hysteresis, scratch planes, sparkle fields) is allocated normally.
 */
import type { Kernels } from './simd/kernels.ts';

type View = Float32Array | Uint8Array | Int32Array;
type ViewCtor<T extends View> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; new (length: number): T; BYTES_PER_ELEMENT: number };

/** Bytes kept free past the last buffer: a SIMD kernel reads up to one vector past a buffer's end. */
const SLACK = 64;

export class FrameArena {
  readonly kernels: Kernels | null;
  #block = new ArrayBuffer(0);
  /** Where the block starts in its buffer (the kernels' memory holds their own data below it), and its size. */
  readonly #base: number;
  #capacity = 0;
  #used = 0;
  /** Bytes asked for this frame past the block's end (served by plain allocation): the block grows by it at the next reset. */
  #missed = 0;

  /**
   * `kernels`: the arena lies in their memory (the try-on stage's); none: in an ArrayBuffer of its own.
   * `bytes`: room from the first frame on (default: none; the first frame's buffers size it).
   */
  constructor(kernels: Kernels | null = null, bytes = 0) {
    this.kernels = kernels;
    this.#base = kernels ? kernels.heapStart : 0;
    if (bytes > 0) this.#grow(bytes);
  }

  take<T extends View>(ctor: ViewCtor<T>, length: number): T {
    // 16-byte aligned: SIMD kernels load whole vectors.
    const at = (this.#used + 15) & ~15;
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    if (at + bytes + SLACK > this.#capacity) {
      this.#missed += bytes + 16;
      return new ctor(length);
    }
    this.#used = at + bytes;
    const view = new ctor(this.kernels ? this.kernels.memory.buffer : this.#block, this.#base + at, length);
    view.fill(0);
    return view;
  }

  /** Forgets this frame's buffers (their memory is handed out again); grows the block if the frame needed more. */
  reset(): void {
    if (this.#missed > 0) this.#grow(Math.ceil((this.#used + this.#missed) * 1.25));
    this.#used = 0;
    this.#missed = 0;
  }

  #grow(bytes: number): void {
    this.#capacity = bytes + SLACK;
    if (!this.kernels) {
      this.#block = new ArrayBuffer(this.#capacity);
      return;
    }
    const short = this.#base + this.#capacity - this.kernels.memory.buffer.byteLength;
    if (short > 0) this.kernels.memory.grow(Math.ceil(short / 65536));
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

/** The current arena's SIMD kernels (the try-on stage's), if any: a kernel runs only on buffers they `hold`. */
export const currentKernels = (): Kernels | null => current?.kernels ?? null;
