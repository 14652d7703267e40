// Constants the kernels load before their loops (see index.ts), at a fixed place in static memory.

const BLOCK = memory.data(64, 16);

/** Coverage at or below this is not painted (skin-grid.ts MIN_COVERAGE). */
export const MIN_COVERAGE: f32 = 0.003;

/** i8x16.swizzle masks: bytes c, c+3, c+6, c+9 of four RGB pixels into the low byte of each i32 lane (0 elsewhere). */
export const SWIZZLE_R: usize = BLOCK;
export const SWIZZLE_G: usize = BLOCK + 16;
export const SWIZZLE_B: usize = BLOCK + 32;

v128.store(SWIZZLE_R, i8x16(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1));
v128.store(SWIZZLE_G, i8x16(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1));
v128.store(SWIZZLE_B, i8x16(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1));
