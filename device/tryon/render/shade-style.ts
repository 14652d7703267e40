/**
 * A shade's per-category drawing parameters (catalog/schema.ts STYLE_SCHEMAS), with the category's
 * defaults when the shade has none. The catalog validated them on load; parsing here again keeps a
 * renderer safe from a shade built in code, and is cached per shade object (not per frame).
 */
import type { z } from 'zod';
import { converter, formatHex } from 'culori';
import { STYLE_SCHEMAS, type Shade } from '../catalog/schema.ts';

type Styled = 'lipstick' | 'lipLiner' | 'eyeshadow' | 'eyeliner' | 'mascara' | 'brows';
export type StyleOf<C extends Styled> = z.infer<(typeof STYLE_SCHEMAS)[C]>;

export const STYLE_DEFAULTS: { [C in Styled]: StyleOf<C> } = {
  lipstick: { style: 'full' },
  lipLiner: { width: 0.02 },
  eyeshadow: { pattern: 'lid' },
  eyeliner: { style: 'thin' },
  mascara: { volume: 0.5 },
  brows: { mode: 'fill' },
};

const cache = new WeakMap<Shade, unknown>();

export function styleOf<C extends Styled>(category: C, shade: Shade): StyleOf<C> {
  const hit = cache.get(shade);
  if (hit) return hit as StyleOf<C>;
  const parsed = shade.style === undefined ? null : STYLE_SCHEMAS[category].safeParse(shade.style);
  const style = (parsed?.success ? parsed.data : STYLE_DEFAULTS[category]) as StyleOf<C>;
  cache.set(shade, style);
  return style;
}

const toOklch = converter('oklch');

/** A companion colour when a style names none: the shade moved in OKLCH lightness by `dl` (culori). */
export function shiftedHex(hex: string, dl: number): string {
  const c = toOklch(hex);
  if (!c) return hex;
  return formatHex({ ...c, l: Math.min(0.97, Math.max(0.05, c.l + dl)) });
}
