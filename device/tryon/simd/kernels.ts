/**
 * The try-on stage's per-pixel loops in WebAssembly SIMD (assembly/, compiled to kernels.wasm by
 * `npm run build:kernels`; a test checks the committed binary is the sources' build). One instance
 * per try-on stage: its memory holds that stage's frame arena (frame-arena.ts), so a kernel reads
 * the masks, grids and tables where the JavaScript wrote them; the frame's pixels (not there) are
 * copied in and out a mask's rect at a time (`paintRows`).
 *
 * Ported so far: skin-grid.ts applyGains (foundation's and concealer's gain pass) and face-layers.ts
 * blendPixels (the full-resolution pass of blush, contour, bronzer and highlighter). The JavaScript
 * of each stays as the path outside a stage (tools and tests building one render context, whose
 * buffers are ordinary arrays) and as the reference each kernel is tested against.
 */
import { readFileSync } from 'node:fs';
import type { Frame } from '../../core/frame.ts';
import { LINEAR_TO_SRGB, SRGB_TO_LINEAR } from '../colour.ts';
import { u8 } from '../frame-arena.ts';
import type { MaskRect } from '../raster.ts';

/** A kernel's arguments: addresses in the instance's memory and sizes, as its AssemblyScript declares them. */
type Kernel = (...addressesAndSizes: number[]) => void;

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  /** assembly/gains.ts */
  applyGains: Kernel;
  /** assembly/blend.ts */
  blendPixels: Kernel;
  srgbToLinearTable(): number;
  linearToSrgbTable(): number;
}

/** Room for tables kept from frame to frame (the finishes' tone curves, 64 KiB each), below the frame arena. */
const KEPT_BYTES = 1 << 20;

let compiled: WebAssembly.Module | null = null;

/** The compiled module: code only, compiled once per process (synchronously: 2 KB). */
function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  return compiled;
}

export class Kernels {
  readonly memory: WebAssembly.Memory;
  /** First byte the frame arena may use (past the module's static data and the kept tables), 64-byte aligned. */
  readonly heapStart: number;
  readonly exports: Exports;
  /** Address of each kept table (`kept`), by the table it copies. */
  readonly #kept = new WeakMap<Float32Array, number>();
  #keptAt: number;

  constructor() {
    const instance = new WebAssembly.Instance(kernelModule(), {
      env: {
        abort: () => {
          throw new Error('SIMD kernel aborted');
        },
      },
    });
    this.exports = instance.exports as unknown as Exports;
    this.memory = this.exports.memory;
    this.#keptAt = (this.exports.heapBase() + 63) & ~63;
    this.heapStart = this.#keptAt + KEPT_BYTES;
    const short = this.heapStart - this.memory.buffer.byteLength;
    if (short > 0) this.memory.grow(Math.ceil(short / 65536));
    // The kernels look up colour.ts's own tables, not a recomputation of them.
    new Float32Array(this.memory.buffer, this.exports.srgbToLinearTable(), SRGB_TO_LINEAR.length).set(SRGB_TO_LINEAR);
    new Uint8Array(this.memory.buffer, this.exports.linearToSrgbTable(), LINEAR_TO_SRGB.length).set(LINEAR_TO_SRGB);
  }

  /** Whether every view lies in this instance's memory (a view's byte offset is then the kernel's pointer). */
  holds(...views: ArrayBufferView[]): boolean {
    return views.every((view) => view.buffer === this.memory.buffer);
  }

  /**
   * The address of a copy of `table` in this memory, made on first use and kept (the table must not
   * change: a finish's tone curve, cached per material by paint.ts); null when the room is full.
   */
  kept(table: Float32Array): number | null {
    let at = this.#kept.get(table);
    if (at === undefined) {
      if (this.#keptAt + table.byteLength > this.heapStart) return null;
      at = this.#keptAt;
      new Float32Array(this.memory.buffer, at, table.length).set(table);
      this.#keptAt = (at + table.byteLength + 63) & ~63;
      this.#kept.set(table, at);
    }
    return at;
  }

  /**
   * Runs `paint` on rows y0..y1 - 1 of the frame's `rect`, copied into this memory (the frame itself
   * is not there): `paint` gets the address of the rect's row 0 (rect.width x 3 bytes a row, 16 spare
   * bytes past the end). The rows are copied back after. False, and nothing done, when the current
   * frame arena has no room in this memory (it grows at the next frame).
   */
  paintRows(frame: Frame, rect: MaskRect, y0: number, y1: number, paint: (pixels: number) => void): boolean {
    const rowBytes = rect.width * 3;
    const pixels = u8(rowBytes * rect.height + 16);
    if (!this.holds(pixels)) return false;
    const at = (y: number) => ((rect.y + y) * frame.width + rect.x) * 3;
    for (let y = y0; y < y1; y++) pixels.set(frame.data.subarray(at(y), at(y) + rowBytes), y * rowBytes);
    paint(pixels.byteOffset);
    for (let y = y0; y < y1; y++) frame.data.set(pixels.subarray(y * rowBytes, (y + 1) * rowBytes), at(y));
    return true;
  }
}
