// AssemblyScript, compiled to ../kernels.wasm by `npm run build:kernels` (tsc and eslint skip this
// folder: its types are WebAssembly's). The try-on stage's per-pixel loops in WebAssembly SIMD,
// four pixels an instruction; ../kernels.ts loads them and says which loops run here.
//
// Every pointer is a byte offset into this module's memory: the try-on stage's frame arena lives
// there (frame-arena.ts), so masks, gains and the frame's pixels are read where they lie.
// V8 rebuilds a SIMD constant at every use inside a loop, so the kernels load theirs from memory
// (written once by `init`) before their loops.

export { applyGains } from './gains';
export { blendPixels } from './blend';
export { linearToSrgbTable, srgbToLinearTable } from './tables';

/** Where the host may start allocating: past this module's own static data. */
export function heapBase(): usize {
  return __heap_base;
}
