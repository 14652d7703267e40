/**
 * Shade matching: the catalog's foundation and concealer shades nearest to the measured skin in
 * ΔE2000 (culori, via device/tryon/colour.ts), nearest first, with their distances. The catalog's
 * `lab` of each shade (validated within ΔE2000 1 of its hex) is what is compared.
 */
import type { CatalogV2, Category } from '../tryon/catalog/schema.ts';
import { deltaE2000 } from '../tryon/colour.ts';
import type { Lab } from './lab.ts';

export interface ShadeMatch {
  productId: string;
  shadeId: string;
  deltaE: number;
}

/** The `count` shades of `category` nearest to `skin`, nearest first (ties: catalog order). */
export function nearestShades(catalog: CatalogV2, category: Category, skin: Readonly<Lab>, count = 3): ShadeMatch[] {
  const all: ShadeMatch[] = [];
  for (const product of catalog.products) {
    if (product.category !== category) continue;
    for (const shade of product.shades) all.push({ productId: product.id, shadeId: shade.id, deltaE: deltaE2000([skin[0], skin[1], skin[2]], shade.lab) });
  }
  return all.sort((a, b) => a.deltaE - b.deltaE).slice(0, count);
}

/** The advisor's `matches`: 3 foundation then 3 concealer shades, each list nearest first, ΔE to 2 decimals. */
export function matchShades(catalog: CatalogV2, skin: Readonly<Lab>): ShadeMatch[] {
  return (['foundation', 'concealer'] as const).flatMap((category) =>
    nearestShades(catalog, category, skin).map((m) => ({ ...m, deltaE: Number(m.deltaE.toFixed(2)) })),
  );
}
