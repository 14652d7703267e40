/**
 * The try-on stage's per-pixel loops in WebAssembly SIMD (assembly/, compiled to kernels.wasm by
 * `npm run build:kernels`; a test checks the committed binary is the sources' build). One instance
 * per try-on stage: its memory holds that stage's frame arena (frame-arena.ts), so a kernel reads
 * the masks and the frame's pixels where the JavaScript wrote them, with no copies.
 *
 * Ported so far: skin-grid.ts applyGains (foundation's and concealer's gain pass). The JavaScript
 * version of each stays as the path outside a stage (tools and tests building one render context,
 * whose buffers are ordinary arrays) and as the reference the kernel is tested against.
 */
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  applyGains(
    data: number,
    frameWidth: number,
    rx: number,
    ry: number,
    rw: number,
    alpha: number,
    lo: number,
    hi: number,
    y0: number,
    y1: number,
    gains: number,
    gw: number,
    gh: number,
    f: number,
    scratch: number,
  ): void;
}

let compiled: WebAssembly.Module | null = null;

/** The compiled module: code only, compiled once per process (synchronously: 2 KB). */
function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  return compiled;
}

export class Kernels {
  readonly memory: WebAssembly.Memory;
  /** First byte the host may use (past the module's static data), 64-byte aligned. */
  readonly heapStart: number;
  readonly exports: Exports;

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
    this.heapStart = (this.exports.heapBase() + 63) & ~63;
  }

  /** Whether `view` lies in this instance's memory (its byte offset is then the kernel's pointer). */
  holds(view: ArrayBufferView): boolean {
    return view.buffer === this.memory.buffer;
  }
}
