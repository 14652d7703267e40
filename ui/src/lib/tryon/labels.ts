/** Words the shopper reads: category names in the order a counter shows them, prices, finishes. */
import type { CatalogProductMessage } from '../../../../device/transport/events.ts';

/** Lips and eyes first (what shoppers try most), then face, then hair. */
const SHOP_ORDER = [
  'lipstick',
  'lipLiner',
  'eyeshadow',
  'eyeliner',
  'mascara',
  'brows',
  'blush',
  'bronzer',
  'contour',
  'highlighter',
  'foundation',
  'concealer',
  'hairColour',
];

const LABELS: Record<string, string> = {
  lipstick: 'Lips',
  lipLiner: 'Lip liner',
  eyeshadow: 'Eyeshadow',
  eyeliner: 'Eyeliner',
  mascara: 'Mascara',
  brows: 'Brows',
  blush: 'Blush',
  bronzer: 'Bronzer',
  contour: 'Contour',
  highlighter: 'Highlighter',
  foundation: 'Foundation',
  concealer: 'Concealer',
  hairColour: 'Hair colour',
};

export function categoryLabel(category: string): string {
  return LABELS[category] ?? category.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/** The categories the catalog has products in, in shop order (unknown ones last, as they came). */
export function shopCategories(products: readonly CatalogProductMessage[]): string[] {
  const present = [...new Set(products.map((p) => p.category))];
  const rank = (c: string) => (SHOP_ORDER.includes(c) ? SHOP_ORDER.indexOf(c) : SHOP_ORDER.length);
  return present.sort((a, b) => rank(a) - rank(b));
}

const priceFormats = new Map<string, Intl.NumberFormat>();

export function formatPrice(price: CatalogProductMessage['price']): string {
  let format = priceFormats.get(price.currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: 'currency', currency: price.currency });
    } catch {
      return `${price.amount.toFixed(2)} ${price.currency}`; // a currency code the browser does not know
    }
    priceFormats.set(price.currency, format);
  }
  return format.format(price.amount);
}

export function finishLabel(finish: string): string {
  return finish.charAt(0).toUpperCase() + finish.slice(1);
}
