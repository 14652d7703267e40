/**
 * The product catalog: which shades the mirror offers and which one is on the shopper's lips from
 * the first frame. A versioned JSON document, validated with zod; a bad one is refused with an
 * error naming the field (`catalog field "products.2.colour": must be a colour like "#a4213f"`).
 *
 *   { "version": "2026.1.0",
 *     "products": [ { "id": "demo-lipstick-ruby", "name": "Ruby Satin", "category": "lipstick",
 *                     "colour": "#a4213f", "opacity": 0.6, "finish": "satin" }, ... ],
 *     "defaultProductId": "demo-lipstick-ruby" }
 *
 * Product ids are unique and the default must be one of them. The bundled catalog
 * (`device/assets/catalog.json`) serves until a catalog update is committed (device/update/
 * catalog-host.ts); the try-on stage reads the serving catalog through one `CatalogSlot`, whose
 * reference is swapped between frames, so a frame never sees half of two catalogs.
 */
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LipstickShade } from './lipstick.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLED_CATALOG_FILE = path.join(repoRoot, 'device', 'assets', 'catalog.json');
/** The artifact name (and telemetry `models` key) of catalog updates. */
export const CATALOG_NAME = 'catalog';
/** A catalog larger than this is refused (it is a list of shades, not media). */
export const MAX_CATALOG_BYTES = 1024 * 1024;

export const FINISHES = ['matte', 'satin', 'sheer', 'gloss'] as const;

export const ProductSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_" or "-"' }),
  name: z.string().min(1, { error: 'must not be empty' }).max(128, { error: 'must be at most 128 characters' }),
  category: z.literal('lipstick', { error: 'must be "lipstick" (the only category this firmware renders)' }),
  colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: 'must be a colour like "#a4213f"' }),
  opacity: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be >= 0' }).max(1, { error: 'must be <= 1' }),
  finish: z.enum(FINISHES, { error: `must be one of ${FINISHES.join(', ')}` }).optional(),
});
export type Product = z.infer<typeof ProductSchema>;

export const CatalogSchema = z
  .strictObject({
    version: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be at most 64 characters' }),
    products: z.array(ProductSchema, { error: 'must be a list of products' }).min(1, { error: 'must list at least one product' }).max(1000, { error: 'must list at most 1000 products' }),
    defaultProductId: z.string({ error: 'must be a product id' }),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.products.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['products', i, 'id'], message: `duplicate product id "${p.id}"` });
      seen.add(p.id);
    });
    if (!seen.has(c.defaultProductId)) {
      ctx.addIssue({ code: 'custom', path: ['defaultProductId'], message: `"${c.defaultProductId}" is not a product in the catalog` });
    }
  });
export type Catalog = z.infer<typeof CatalogSchema>;

/** An invalid catalog (code MIRROR_ERR_CATALOG in device/core/errors.ts). */
export class CatalogError extends MirrorError {
  /** The dotted path of the first offending field (`products.2.colour`), or `(catalog)`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('MIRROR_ERR_CATALOG', `catalog field "${field}": ${message}`);
    this.name = 'CatalogError';
    this.field = field;
  }
}

/** Validates a parsed catalog; throws CatalogError naming the first bad field. */
export function validateCatalog(json: unknown): Catalog {
  const parsed = CatalogSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(catalog)';
    throw new CatalogError(field, issue?.message ?? 'invalid');
  }
  return parsed.data;
}

/** Parses catalog bytes (UTF-8 JSON); throws CatalogError. */
export function parseCatalog(bytes: Buffer | string): Catalog {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > MAX_CATALOG_BYTES) throw new CatalogError('(catalog)', `${size} bytes, more than the ${MAX_CATALOG_BYTES} allowed`);
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new CatalogError('(catalog)', `not JSON (${(err as Error).message})`);
  }
  return validateCatalog(json);
}

export async function loadCatalogFile(file: string): Promise<Catalog> {
  return parseCatalog(await readFile(file));
}

let bundled: Catalog | undefined;
/** The catalog shipped with the firmware (read once). */
export function bundledCatalog(): Catalog {
  bundled ??= parseCatalog(readFileSync(BUNDLED_CATALOG_FILE));
  return bundled;
}

export function shadeOf(p: Product): LipstickShade {
  return { productId: p.id, colour: p.colour, opacity: p.opacity };
}

/** A catalog ready to serve: the default product's shade resolved once, not per frame. */
export interface ServingCatalog {
  readonly catalog: Catalog;
  readonly defaultShade: LipstickShade;
  /** The update artifact it came from; undefined for the bundled catalog. */
  readonly artifactId?: string;
}

export function servingCatalog(catalog: Catalog, artifactId?: string): ServingCatalog {
  const product = catalog.products.find((p) => p.id === catalog.defaultProductId);
  if (!product) throw new CatalogError('defaultProductId', `"${catalog.defaultProductId}" is not a product in the catalog`);
  return { catalog, defaultShade: shadeOf(product), ...(artifactId ? { artifactId } : {}) };
}

/**
 * The one reference to the serving catalog. The pipeline handles one frame at a time and the
 * try-on stage reads `current` once per frame, so `swap` (synchronous) takes effect between frames.
 */
export class CatalogSlot {
  #current: ServingCatalog;
  constructor(initial: ServingCatalog = servingCatalog(bundledCatalog())) {
    this.#current = initial;
  }
  get current(): ServingCatalog {
    return this.#current;
  }
  /** Serves `next` from the next frame on; returns the catalog it replaces. */
  swap(next: ServingCatalog): ServingCatalog {
    const previous = this.#current;
    this.#current = next;
    return previous;
  }
  /** What /healthz and telemetry report. */
  summary(): { version: string; products: number; defaultProductId: string; artifactId: string | null } {
    const c = this.#current;
    return { version: c.catalog.version, products: c.catalog.products.length, defaultProductId: c.catalog.defaultProductId, artifactId: c.artifactId ?? null };
  }
}
