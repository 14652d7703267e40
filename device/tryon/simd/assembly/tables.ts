// The colour tables the kernels read per pixel: the host copies colour.ts's own (Kernels' constructor),
// so a kernel looks up exactly what the JavaScript looks up.

/** colour.ts SRGB_TO_LINEAR: 256 float32. */
export const SRGB_TO_LINEAR: usize = memory.data(256 * 4, 16);
/** colour.ts LINEAR_TO_SRGB: LINEAR_STEPS + 1 bytes. */
export const LINEAR_STEPS: i32 = 4096;
export const LINEAR_TO_SRGB: usize = memory.data(4096 + 16, 16);

export function srgbToLinearTable(): usize {
  return SRGB_TO_LINEAR;
}

export function linearToSrgbTable(): usize {
  return LINEAR_TO_SRGB;
}
