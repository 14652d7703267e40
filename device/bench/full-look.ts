/**
 * The benches' full look: one shade per category, typical of a counter's full look (foundation,
 * concealer, contour, blush, highlighter, eyeshadow, eyeliner, mascara, brows, lip liner,
 * lipstick), in the try-on stage's category order. `npm run bench:render` times the renderer on it;
 * `npm run bench` runs the pipeline with it at 640x480 (the issue's "still ≥ 30 fps").
 */
import { hexToLab } from '../tryon/colour.ts';
import { CATEGORIES, ProductSchema, type Category, type Finish } from '../tryon/catalog/schema.ts';
import type { AppliedProduct } from '../tryon/render/renderer.ts';

const LOOK: Array<[Category, string, Finish, Record<string, unknown>?]> = [
  ['foundation', '#d2a07e', 'satin', { coverage: 0.6 }],
  ['concealer', '#e2b595', 'matte', { coverage: 0.8 }],
  ['contour', '#8a5a44', 'matte'],
  ['blush', '#d9606e', 'satin', { placement: 'apples' }],
  ['highlighter', '#f6dcc0', 'shimmer'],
  ['eyeshadow', '#8c6a5a', 'satin', { pattern: 'lidCrease', creaseHex: '#5a3e36' }],
  ['eyeliner', '#1a1414', 'matte', { style: 'winged' }],
  ['mascara', '#111111', 'matte', { volume: 0.6 }],
  ['brows', '#5a4032', 'matte', { mode: 'fill' }],
  ['lipLiner', '#8e2a3a', 'matte', { width: 0.02 }],
  ['lipstick', '#a4213f', 'gloss', { style: 'full' }],
];

function item([category, hex, finish, style]: (typeof LOOK)[number]): AppliedProduct {
  const product = ProductSchema.parse({
    id: `bench-${category}`,
    brand: 'Bench',
    line: 'Full look',
    name: category,
    category,
    sku: 'BENCH-1',
    price: { amount: 1, currency: 'EUR' },
    shades: [{ id: 'bench', name: hex, hex, lab: hexToLab(hex), opacity: 0.6, finish, ...(style ? { style } : {}) }],
  });
  return { product, shade: product.shades[0], intensity: 1 };
}

export function fullLook(): AppliedProduct[] {
  return LOOK.map(item).sort((x, y) => CATEGORIES.indexOf(x.product.category) - CATEGORIES.indexOf(y.product.category));
}
