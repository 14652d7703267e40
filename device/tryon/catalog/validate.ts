/**
 * Catalog v2 validation: the structural schema (schema.ts), then the rules that span fields:
 *  - product ids, SKUs and look ids unique; shade ids unique within their product;
 *  - `lab` within ΔE2000 1 of `hex` (culori, lab65): the two must not render differently from what
 *    the merchandiser reads;
 *  - `style` valid for the product's category (STYLE_SCHEMAS), with the colours its style needs and
 *    no colour it would ignore (ombre/twoTone: secondHex; lidCrease: creaseHex; lidCreaseOuter:
 *    creaseHex and outerHex);
 *  - look items and `default` name an existing product and shade; a look has one product per category
 *    (a second lipstick would replace the first, so the look would not be what it says);
 *  - every advisor rule's suggestion names an existing product and shade.
 * The first problem is thrown as a CatalogError naming the field (`products.3.shades.2.style.pattern`).
 */
import type { z } from 'zod';
import { MirrorError } from '../../../fleet/protocol/errors.ts';
import { deltaE2000 } from '../colour.ts';
import { CatalogV2Schema, STYLE_SCHEMAS, type CatalogV2, type Category, type Product, type Shade } from './schema.ts';

/** The largest ΔE2000 between a shade's `lab` and its `hex` that is accepted. */
export const MAX_LAB_HEX_DELTA_E = 1;

/** An invalid catalog (code MIRROR_ERR_CATALOG). */
export class CatalogError extends MirrorError {
  /** The dotted path of the first offending field (`products.2.shades.0.hex`), or `(catalog)`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('MIRROR_ERR_CATALOG', `catalog field "${field}": ${message}`);
    this.name = 'CatalogError';
    this.field = field;
  }
}

type Path = Array<string | number>;
const fail = (path: Path, message: string): never => {
  throw new CatalogError(path.map(String).join('.') || '(catalog)', message);
};

function firstIssue(error: z.ZodError, prefix: Path): never {
  const issue = error.issues[0];
  const message = issue?.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} "${issue.keys.join('", "')}"` : (issue?.message ?? 'invalid');
  return fail([...prefix, ...(issue?.path ?? []).map((p) => (typeof p === 'symbol' ? String(p) : p))], message);
}

/** The colours a style needs, and those it must not carry (they would be accepted and ignored). */
const STYLE_COLOURS: Partial<Record<Category, (style: Record<string, unknown>) => { needs: string[]; refuses: string[] }>> = {
  lipstick: (s) => (s.style === 'full' ? { needs: [], refuses: ['secondHex'] } : { needs: ['secondHex'], refuses: [] }),
  eyeshadow: (s) =>
    s.pattern === 'lid'
      ? { needs: [], refuses: ['creaseHex', 'outerHex'] }
      : s.pattern === 'lidCrease'
        ? { needs: ['creaseHex'], refuses: ['outerHex'] }
        : { needs: ['creaseHex', 'outerHex'], refuses: [] },
};

function checkStyle(category: Category, style: Record<string, unknown>, at: Path): void {
  const parsed = STYLE_SCHEMAS[category].safeParse(style);
  if (!parsed.success) firstIssue(parsed.error, at);
  const rule = STYLE_COLOURS[category]?.(style);
  if (!rule) return;
  const kind = String(style.style ?? style.pattern);
  for (const key of rule.needs) if (style[key] === undefined) fail([...at, key], `is required by ${category} "${kind}"`);
  for (const key of rule.refuses) if (style[key] !== undefined) fail([...at, key], `is not used by ${category} "${kind}" (remove it or change the style)`);
}

function checkShade(product: Product, shade: Shade, at: Path): void {
  const dE = deltaE2000(shade.hex, shade.lab);
  if (!(dE <= MAX_LAB_HEX_DELTA_E)) {
    fail([...at, 'lab'], `[${shade.lab.join(', ')}] is ΔE2000 ${dE.toFixed(2)} from hex ${shade.hex} (at most ${MAX_LAB_HEX_DELTA_E}; compute it with device/tools/catalog-lab.ts)`);
  }
  if (shade.style !== undefined) checkStyle(product.category, shade.style, [...at, 'style']);
}

function unique<T>(items: readonly T[], key: (item: T) => string, at: (i: number) => Path, what: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) fail(at(i), `duplicate ${what} "${k}"`);
    seen.add(k);
  });
}

/** The product and shade a reference names, or a CatalogError at `at`. */
function resolveRef(catalog: CatalogV2, ref: { productId: string; shadeId: string }, at: Path): Product {
  const product = catalog.products.find((p) => p.id === ref.productId) ?? fail([...at, 'productId'], `"${ref.productId}" is not a product in the catalog`);
  if (!product.shades.some((s) => s.id === ref.shadeId)) fail([...at, 'shadeId'], `"${ref.shadeId}" is not a shade of "${product.id}"`);
  return product;
}

function checkLooks(catalog: CatalogV2): void {
  unique(catalog.looks, (l) => l.id, (i) => ['looks', i, 'id'], 'look id');
  catalog.looks.forEach((look, i) => {
    const categories = new Set<Category>();
    look.items.forEach((item, j) => {
      const product = resolveRef(catalog, item, ['looks', i, 'items', j]);
      if (categories.has(product.category)) fail(['looks', i, 'items', j, 'productId'], `a second ${product.category} in look "${look.id}" (one product per category)`);
      categories.add(product.category);
    });
  });
}

/** Validates a parsed catalog v2; throws CatalogError naming the first bad field. */
export function validateCatalogV2(json: unknown): CatalogV2 {
  const parsed = CatalogV2Schema.safeParse(json);
  if (!parsed.success) return firstIssue(parsed.error, []);
  const catalog = parsed.data;
  unique(catalog.products, (p) => p.id, (i) => ['products', i, 'id'], 'product id');
  unique(catalog.products, (p) => p.sku, (i) => ['products', i, 'sku'], 'SKU');
  catalog.products.forEach((product, i) => {
    unique(product.shades, (s) => s.id, (j) => ['products', i, 'shades', j, 'id'], `shade id in "${product.id}"`);
    product.shades.forEach((shade, j) => checkShade(product, shade, ['products', i, 'shades', j]));
  });
  checkLooks(catalog);
  if (catalog.default) resolveRef(catalog, catalog.default, ['default']);
  catalog.advisor?.rules.forEach((rule, i) => rule.suggest.forEach((ref, j) => resolveRef(catalog, ref, ['advisor', 'rules', i, 'suggest', j])));
  return catalog;
}
