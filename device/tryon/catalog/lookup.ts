/**
 * Finding products and shades in a serving catalog, and turning a reference
 * (`{ productId, shadeId?, intensity? }`: a kiosk command, a look item, the config's pin) into the
 * AppliedProduct the renderers draw. Lookups go through a per-catalog index built once (a catalog
 * is immutable once served), so resolving a selection per frame costs a map lookup.
 */
import type { AppliedProduct } from '../render/renderer.ts';
import type { CatalogV2, Product, Shade } from './schema.ts';

const index = new WeakMap<CatalogV2, Map<string, Product>>();

export function findProduct(catalog: CatalogV2, productId: string): Product | undefined {
  let byId = index.get(catalog);
  if (!byId) {
    byId = new Map(catalog.products.map((p) => [p.id, p]));
    index.set(catalog, byId);
  }
  return byId.get(productId);
}

export function findShade(product: Product, shadeId: string): Shade | undefined {
  return product.shades.find((s) => s.id === shadeId);
}

export interface ItemRef {
  productId: string;
  /** Absent: the product's first shade. */
  shadeId?: string;
  /** 0..1; absent: 1. */
  intensity?: number;
}

export type Resolved = { ok: true; item: AppliedProduct } | { ok: false; field: 'productId' | 'shadeId' | 'intensity'; message: string };

/** The product and shade a reference names in `catalog`, or which field is wrong and why. */
export function resolveItem(catalog: CatalogV2, ref: ItemRef): Resolved {
  const product = findProduct(catalog, ref.productId);
  if (!product) return { ok: false, field: 'productId', message: `"${ref.productId}" is not a product in catalog ${catalog.version}` };
  const shade = ref.shadeId === undefined ? product.shades[0] : findShade(product, ref.shadeId);
  if (!shade) return { ok: false, field: 'shadeId', message: `"${ref.shadeId}" is not a shade of "${product.id}"` };
  const intensity = ref.intensity ?? 1;
  if (!(intensity >= 0 && intensity <= 1)) return { ok: false, field: 'intensity', message: `${intensity} is not from 0 to 1` };
  return { ok: true, item: { product, shade, intensity } };
}

/** What is on the shopper's face before they choose: the catalog's `default` at full intensity, or nothing. */
export function defaultItems(catalog: CatalogV2): AppliedProduct[] {
  if (!catalog.default) return [];
  const r = resolveItem(catalog, catalog.default);
  // validateCatalogV2 has checked the reference; a hand-built catalog that skipped it shows nothing.
  return r.ok ? [r.item] : [];
}
