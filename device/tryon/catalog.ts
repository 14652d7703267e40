/**
 * The product catalog, public entry: catalog v2 (catalog/schema.ts) read from v1 or v2 files
 * (catalog/load.ts, catalog/migrate.ts), validated with errors naming the field
 * (catalog/validate.ts: `catalog field "products.3.shades.2.style.pattern": ...`), served through
 * one CatalogSlot (catalog/slot.ts), looked up (catalog/lookup.ts) and sent to the kiosk
 * (catalog/message.ts).
 */
export * from './catalog/schema.ts';
export { CatalogError, MAX_LAB_HEX_DELTA_E, validateCatalogV2 } from './catalog/validate.ts';
export { CatalogV1Schema, migrateV1, type CatalogV1 } from './catalog/migrate.ts';
export { BUNDLED_CATALOG_FILE, CATALOG_NAME, MAX_CATALOG_BYTES, bundledCatalog, loadCatalogFile, parseCatalog, validateCatalog } from './catalog/load.ts';
export { CatalogSlot, servingCatalog, summarise, type CatalogSummary, type ServingCatalog, type SwapListener } from './catalog/slot.ts';
export { defaultItems, findProduct, findShade, resolveItem, type ItemRef, type Resolved } from './catalog/lookup.ts';
export { toCatalogMessage } from './catalog/message.ts';
export { checkPin, initialItems, type TryOnPin } from './catalog/pin.ts';
