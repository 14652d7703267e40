/** sRGB <-> linear light lookup tables: blending in linear light keeps shading and highlights natural. */
export const SRGB_TO_LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

const LINEAR_STEPS = 4096;
const LINEAR_TO_SRGB = Uint8Array.from({ length: LINEAR_STEPS + 1 }, (_, i) => {
  const c = i / LINEAR_STEPS;
  const s = c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, s)) * 255);
});

export const linearToSrgb = (value: number): number => LINEAR_TO_SRGB[Math.round(Math.min(1, Math.max(0, value)) * LINEAR_STEPS)];

export function hexToLinear(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [SRGB_TO_LINEAR[(n >> 16) & 255], SRGB_TO_LINEAR[(n >> 8) & 255], SRGB_TO_LINEAR[n & 255]];
}

/** Relative luminance of linear RGB (Rec. 709 weights). */
export const luminance = (r: number, g: number, b: number): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;
