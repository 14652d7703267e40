/**
 * The product catalog as a signed JSON document on the update path (document-host.ts does the
 * staging, the version check, the switch and the rollback for every document kind):
 *
 *  - parse: the catalog JSON, v2 or v1 (a v1 catalog is migrated on every load,
 *    device/tryon/catalog/migrate.ts, so v2 always serves; the bytes are kept as signed); a
 *    schema error is `bad-catalog`, the detail naming the field;
 *  - smoke test: every shade is drawn on a golden demo-clip frame by its category's renderer
 *    (catalog-smoke.ts; faces found once, by the bundled detector and mesh): each render must
 *    succeed and change pixels;
 *  - slot: the try-on stage's `CatalogSlot` (one reference, read once per frame); nothing
 *    committed, or a committed catalog that does not load: the bundled one.
 */
import { bundledCatalog, CATALOG_NAME, parseCatalog, servingCatalog, type CatalogSlot, type CatalogV2, type ServingCatalog } from '../tryon/catalog.ts';
import { smokeTestCatalog } from './catalog-smoke.ts';
import { createDocumentHost, loadCommittedDocument, type DocumentKind, type DocumentSlot } from './document-host.ts';
import type { HealthSample, ModelHost } from './host.ts';
import type { Logger } from '../core/logger.ts';
import type { ServingModel } from './store.ts';
import type { GoldenFace } from './vision-port.ts';

export const CATALOG_FILE = 'catalog.json';

/** The catalog's document kind; `goldenFaces` are computed once, on the first smoke test. */
export function catalogDocument(goldenFaces: () => Promise<GoldenFace[]>): DocumentKind<CatalogV2> {
  let golden: Promise<GoldenFace[]> | undefined;
  return {
    name: CATALOG_NAME,
    file: CATALOG_FILE,
    badReason: 'bad-catalog',
    parse: (bytes) => parseCatalog(bytes),
    version: (c) => c.version,
    async smoke(catalog) {
      let faces: GoldenFace[];
      try {
        golden ??= goldenFaces();
        faces = await golden;
      } catch (err) {
        golden = undefined;
        return `smoke test could not run: ${(err as Error).message}`;
      }
      return smokeTestCatalog(catalog, faces);
    },
  };
}

/** The try-on stage's slot as the document host swaps it; the fallback is the bundled catalog. */
export function catalogDocumentSlot(slot: Pick<CatalogSlot, 'swap'>): DocumentSlot<CatalogV2, ServingCatalog> {
  return {
    swap: (next) => slot.swap(next),
    serve: (c, model) => servingCatalog(c, model.artifactId),
    fallback: () => {
      const c = bundledCatalog();
      return { serving: servingCatalog(c), model: { version: c.version, dir: null } };
    },
  };
}

const NO_SMOKE: () => Promise<GoldenFace[]> = () => Promise.reject(new Error('no golden frames at boot'));

/** The serving catalog on boot: the committed one (null = bundled), or the bundled one if it does not load. */
export async function loadCommittedCatalog(committed: ServingModel | null, logger: Logger): Promise<{ serving: ServingCatalog; model: ServingModel }> {
  const unused = { swap: (s: ServingCatalog) => s };
  const { serving, model } = await loadCommittedDocument(catalogDocument(NO_SMOKE), catalogDocumentSlot(unused), committed, logger);
  return { serving, model };
}

export interface CatalogHostOptions {
  slot: CatalogSlot;
  /** What serves now (from the committed pointer; null dir = the bundled catalog). */
  serving: ServingModel;
  /** Golden faces for the smoke test (computed once, on the first smoke test). */
  goldenFaces: () => Promise<GoldenFace[]>;
  health: () => HealthSample;
  logger: Logger;
}

export function createCatalogHost(opts: CatalogHostOptions): ModelHost {
  return createDocumentHost({ kind: catalogDocument(opts.goldenFaces), slot: catalogDocumentSlot(opts.slot), serving: opts.serving, health: opts.health, logger: opts.logger });
}
