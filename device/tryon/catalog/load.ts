/**
 * Reading a catalog: bytes -> JSON -> v2. A v1 catalog (no `schema` field) is validated with the v1
 * rules and migrated (migrate.ts); anything else must be v2 (validate.ts). The bundled catalog
 * (`device/assets/catalog.json`) serves until a catalog update is committed (device/update/catalog-host.ts).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CatalogV1Schema, isV1, migrateV1 } from './migrate.ts';
import type { CatalogV2 } from './schema.ts';
import { CatalogError, validateCatalogV2 } from './validate.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUNDLED_CATALOG_FILE = path.join(repoRoot, 'device', 'assets', 'catalog.json');
/** The artifact name (and telemetry `models` key) of catalog updates. */
export const CATALOG_NAME = 'catalog';
/** A catalog larger than this is refused (it is a list of shades, not media). */
export const MAX_CATALOG_BYTES = 1024 * 1024;

/** Validates a parsed catalog, v1 (migrated) or v2; throws CatalogError naming the first bad field. */
export function validateCatalog(json: unknown): CatalogV2 {
  if (!isV1(json)) return validateCatalogV2(json);
  const v1 = CatalogV1Schema.safeParse(json);
  if (!v1.success) {
    const issue = v1.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(catalog)';
    throw new CatalogError(field, `${issue?.message ?? 'invalid'} (catalog v1: no "schema" field)`);
  }
  return validateCatalogV2(migrateV1(v1.data));
}

/** Parses catalog bytes (UTF-8 JSON); throws CatalogError. */
export function parseCatalog(bytes: Buffer | string): CatalogV2 {
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

export async function loadCatalogFile(file: string): Promise<CatalogV2> {
  return parseCatalog(await readFile(file));
}

let bundled: CatalogV2 | undefined;
/** The catalog shipped with the firmware (read once). */
export function bundledCatalog(): CatalogV2 {
  bundled ??= parseCatalog(readFileSync(BUNDLED_CATALOG_FILE));
  return bundled;
}
