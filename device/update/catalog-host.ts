/**
 * The daemon's side of catalog updates, the catalog's ModelHost (see model-host.ts for the mesh's):
 *
 *  - stage: the artifact is the catalog JSON itself, v2 or v1 (a v1 catalog is migrated on every
 *    load, device/tryon/catalog/migrate.ts, so v2 always serves; the bytes are kept as signed); it
 *    is parsed and validated (a schema error is `bad-catalog`, the detail naming the field), its
 *    `version` must be the artifact's, and it is written as `<stateDir>/catalog/<artifactId>/catalog.json`
 *    beside the serving one;
 *  - smoke test: the staged file is read and validated again (a power cut may have come between),
 *    then every shade is drawn on a golden demo-clip frame by its category's renderer
 *    (catalog-smoke.ts; faces found once, by the bundled detector and mesh): each render must
 *    succeed and change pixels;
 *  - activate: the try-on stage's `CatalogSlot` is swapped (one reference, read once per frame);
 *    the previous catalog is kept for an instant rollback until commit;
 *  - revert: the kept catalog serves again, or the target is loaded from disk (null = bundled).
 *
 * Length: createCatalogHost (~80 lines) is a factory of seven small functions (the longest 21 lines)
 * sharing the staged and previous catalog.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../../fleet/protocol/update.ts';
import type { Logger } from '../core/logger.ts';
import {
  bundledCatalog,
  CATALOG_NAME,
  CatalogError,
  CatalogSlot,
  loadCatalogFile,
  parseCatalog,
  servingCatalog,
  type CatalogV2,
  type ServingCatalog,
} from '../tryon/catalog.ts';
import { smokeTestCatalog } from './catalog-smoke.ts';
import { UpdateStageError, type HealthSample, type ModelCandidate, type ModelHost, type SmokeResult } from './host.ts';
import { writeFileDurable } from '../core/fs-atomic.ts';
import type { ServingModel } from './store.ts';
import type { GoldenFace } from './vision-port.ts';

export const CATALOG_FILE = 'catalog.json';

interface CatalogCandidate extends ModelCandidate {
  catalog: CatalogV2;
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

/** The serving catalog on boot: the committed one (null = bundled), or the bundled one if it does not load. */
export async function loadCommittedCatalog(committed: ServingModel | null, logger: Logger): Promise<{ serving: ServingCatalog; model: ServingModel }> {
  const bundled = (): { serving: ServingCatalog; model: ServingModel } => {
    const c = bundledCatalog();
    return { serving: servingCatalog(c), model: { version: c.version, dir: null } };
  };
  if (!committed?.dir) return bundled();
  try {
    const c = await loadCatalogFile(path.join(committed.dir, CATALOG_FILE));
    return { serving: servingCatalog(c, committed.artifactId), model: { ...committed, version: c.version } };
  } catch (err) {
    logger.error({ err: (err as Error).message, dir: committed.dir }, 'committed catalog does not load; serving the bundled one');
    return bundled();
  }
}

export function createCatalogHost(opts: CatalogHostOptions): ModelHost {
  const { slot, logger } = opts;
  let serving: ServingModel = opts.serving;
  /** The catalog that served before the switch, kept until commit. */
  let previous: { catalog: ServingCatalog; serving: ServingModel } | null = null;
  let golden: Promise<GoldenFace[]> | undefined;

  const check = (name: string): void => {
    if (name !== CATALOG_NAME) throw new Error(`catalog host: cannot update "${name}"`);
  };

  return {
    updatable: [CATALOG_NAME],
    serving(name) {
      check(name);
      return serving;
    },
    async stage(artifact: Artifact, file: string, dir: string) {
      check(artifact.name);
      const bytes = await readFile(file);
      let catalog: CatalogV2;
      try {
        catalog = parseCatalog(bytes);
      } catch (err) {
        throw new UpdateStageError('bad-catalog', (err as Error).message);
      }
      if (catalog.version !== artifact.version) {
        throw new UpdateStageError('bad-catalog', `catalog field "version": "${catalog.version}", the artifact says "${artifact.version}"`);
      }
      await writeFileDurable(path.join(dir, CATALOG_FILE), bytes);
    },
    async smokeTest(name, dir): Promise<SmokeResult> {
      check(name);
      let catalog: CatalogV2;
      try {
        catalog = await loadCatalogFile(path.join(dir, CATALOG_FILE));
      } catch (err) {
        return { ok: false, detail: err instanceof CatalogError ? err.message : `catalog does not load: ${(err as Error).message}` };
      }
      let faces: GoldenFace[];
      try {
        golden ??= opts.goldenFaces();
        faces = await golden;
      } catch (err) {
        golden = undefined;
        return { ok: false, detail: `smoke test could not run: ${(err as Error).message}` };
      }
      const problem = await smokeTestCatalog(catalog, faces);
      if (problem) return { ok: false, detail: problem };
      const candidate: CatalogCandidate = { version: catalog.version, catalog, dispose() {} };
      return { ok: true, candidate };
    },
    activate(name, candidate, model) {
      check(name);
      const old = slot.swap(servingCatalog((candidate as CatalogCandidate).catalog, model.artifactId));
      previous = { catalog: old, serving };
      serving = model;
      logger.info({ ...slot.summary(), previous: previous.serving.version }, 'update: new catalog serving frames');
    },
    async revert(name, to) {
      check(name);
      const targetDir = to?.dir ?? null;
      if (previous && (previous.serving.dir ?? null) === targetDir) {
        slot.swap(previous.catalog);
        serving = previous.serving;
        previous = null;
        logger.warn({ version: serving.version }, 'update: previous catalog serving again');
        return;
      }
      if ((serving.dir ?? null) === targetDir) return; // nothing was switched
      const loaded = await loadCommittedCatalog(to, logger);
      slot.swap(loaded.serving);
      serving = loaded.model;
      logger.warn({ version: serving.version }, 'update: reverted catalog serving');
    },
    commit(name) {
      check(name);
      previous = null;
    },
    health: opts.health,
  };
}
