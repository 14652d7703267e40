/**
 * Colour science for the try-on: conversions and colour differences come from culori (a maintained
 * library), so the catalog's CIELAB and every ΔE the tests report mean what the literature means.
 * The one exception is the per-pixel hot path: sRGB <-> linear-light lookup tables, because a
 * library call per channel per pixel would blow the 6 ms render budget. tests/tryon/catalog-colour
 * checks these tables against culori.
 *
 * A module that reads these tables in a per-pixel loop keeps its own module-private copy of the
 * binding (`const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR`): V8 reads an imported binding through its
 * module cell on every access, and in those loops that measured several times the cost of a private
 * constant (a fused blend loop over a 720p face: 30 ms imported, 7 ms private).
 */
import { converter, differenceCiede2000, parse, type Lab65 } from 'culori';

/** CIELAB [L, a, b] under D65, the space culori's differenceCiede2000 works in. */
export type LabTriple = [number, number, number];

const toLab65 = converter('lab65');
const ciede2000 = differenceCiede2000();

function parseHex(hex: string): ReturnType<typeof parse> & object {
  const colour = /^#[0-9a-fA-F]{6}$/.test(hex) ? parse(hex) : undefined;
  if (!colour) throw new RangeError(`not a colour like "#a4213f": "${hex}"`);
  return colour;
}

/** CIELAB D65 of an sRGB hex colour. */
export function hexToLab(hex: string): LabTriple {
  const { l, a, b } = toLab65(parseHex(hex));
  return [l, a, b];
}

const lab65 = ([l, a, b]: LabTriple): Lab65 => ({ mode: 'lab65', l, a, b });

/** ΔE2000 between two colours, each an sRGB hex string or a CIELAB D65 triple. */
export function deltaE2000(x: string | LabTriple, y: string | LabTriple): number {
  const cx = typeof x === 'string' ? toLab65(parseHex(x)) : lab65(x);
  const cy = typeof y === 'string' ? toLab65(parseHex(y)) : lab65(y);
  return ciede2000(cx, cy);
}

/** sRGB <-> linear light lookup tables: blending in linear light keeps shading and highlights natural. */
export const SRGB_TO_LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** Steps of the linear -> sRGB table: fine enough that every 8-bit value round-trips. */
export const LINEAR_STEPS = 4096;
export const LINEAR_TO_SRGB = Uint8Array.from({ length: LINEAR_STEPS + 1 }, (_, i) => {
  const c = i / LINEAR_STEPS;
  const s = c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, s)) * 255);
});

export const linearToSrgb = (value: number): number => (value <= 0 ? LINEAR_TO_SRGB[0] : value >= 1 ? 255 : LINEAR_TO_SRGB[(value * LINEAR_STEPS + 0.5) | 0]);

export function hexToLinear(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [SRGB_TO_LINEAR[(n >> 16) & 255], SRGB_TO_LINEAR[(n >> 8) & 255], SRGB_TO_LINEAR[n & 255]];
}

/** Relative luminance of linear RGB (Rec. 709 weights). */
export const luminance = (r: number, g: number, b: number): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;
