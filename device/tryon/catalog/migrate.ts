/**
 * Catalog v1 -> v2. Mirrors in the field hold v1 catalogs (no `schema` field: one colour per
 * product, lipstick only), bundled or committed by an update, and the fleet may still deliver them.
 * They are validated with the v1 rules and migrated on load, so the daemon only ever serves v2.
 * The bytes on disk are left as delivered (their sha256 is what was signed).
 *
 * The mapping, per v1 product `{ id, name, category, colour, opacity, finish? }`:
 *   product: id = id, name = name, category = "lipstick", brand = "Mirror", line = "Classic",
 *            sku = "V1-" + id (characters outside [A-Za-z0-9-] become "-", cut to 32),
 *            price = { amount: 0, currency: "EUR" } (v1 had no prices; 0 = not priced)
 *   its one shade: id = id, name = name, hex = colour (lower case), lab = culori lab65 of colour,
 *            opacity = opacity, finish = finish ?? "satin" (what the v1 renderer drew), no style (full)
 *   catalog: schema = 2, version = version, looks = [],
 *            default = { productId: defaultProductId, shadeId: defaultProductId }
 */
import { z } from 'zod';
import { hexToLab } from '../colour.ts';
import type { CatalogV2, Product } from './schema.ts';

export const V1_FINISHES = ['matte', 'satin', 'sheer', 'gloss'] as const;

const V1ProductSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_" or "-"' }),
  name: z.string().min(1, { error: 'must not be empty' }).max(128, { error: 'must be at most 128 characters' }),
  category: z.literal('lipstick', { error: 'must be "lipstick" (the only category of catalog v1)' }),
  colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: 'must be a colour like "#a4213f"' }),
  opacity: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be >= 0' }).max(1, { error: 'must be <= 1' }),
  finish: z.enum(V1_FINISHES, { error: `must be one of ${V1_FINISHES.join(', ')}` }).optional(),
});

/** Catalog v1 as mirrors hold it. Unique ids are checked again by v2 validation after migration (same field path). */
export const CatalogV1Schema = z
  .strictObject({
    version: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters' }),
    products: z.array(V1ProductSchema, { error: 'must be a list of products' }).min(1, { error: 'must list at least one product' }).max(1000, { error: 'must list at most 1000 products' }),
    defaultProductId: z.string({ error: 'must be a product id' }),
  })
  .superRefine((c, ctx) => {
    // Checked here so the error names the v1 field, not the v2 `default.productId` it becomes.
    if (!c.products.some((p) => p.id === c.defaultProductId)) {
      ctx.addIssue({ code: 'custom', path: ['defaultProductId'], message: `"${c.defaultProductId}" is not a product in the catalog` });
    }
  });
export type CatalogV1 = z.infer<typeof CatalogV1Schema>;

/** Whether parsed JSON claims to be v1: v2 and later carry `schema`. */
export const isV1 = (json: unknown): boolean => typeof json === 'object' && json !== null && !Array.isArray(json) && !('schema' in json);

function migrateProduct(p: CatalogV1['products'][number]): Product {
  const hex = p.colour.toLowerCase();
  return {
    id: p.id,
    brand: 'Mirror',
    line: 'Classic',
    name: p.name,
    category: p.category,
    sku: `V1-${p.id.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 32),
    price: { amount: 0, currency: 'EUR' },
    shades: [{ id: p.id, name: p.name, hex, lab: hexToLab(hex), opacity: p.opacity, finish: p.finish ?? 'satin' }],
  };
}

/** The v2 form of a (structurally valid) v1 catalog; validate the result with validateCatalogV2. */
export function migrateV1(v1: CatalogV1): CatalogV2 {
  return {
    schema: 2,
    version: v1.version,
    products: v1.products.map(migrateProduct),
    looks: [],
    default: { productId: v1.defaultProductId, shadeId: v1.defaultProductId },
  };
}
