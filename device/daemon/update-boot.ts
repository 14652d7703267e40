/**
 * Update boot: a job interrupted after its switch is rolled back on disk before any model loads,
 * so the vision models, the catalog, the recommendations and the colour profile that serve are always
 * the last committed ones (or the bundled / local ones).
 */
import path from 'node:path';
import { PROFILE_NAME } from '../../calibration/colour/profile.ts';
import { RECOMMENDATIONS_NAME } from '../../fleet/protocol/recommendations.ts';
import { loadCommittedTrends, TrendsSlot } from '../advisor/trends-host.ts';
import type { Logger } from '../core/logger.ts';
import { CATALOG_NAME, CatalogSlot } from '../tryon/catalog.ts';
import { prepareUpdateBoot } from '../update/boot.ts';
import { loadCommittedCatalog } from '../update/catalog-host.ts';
import { VISION_MODELS } from '../update/model-host.ts';
import { UpdateStore, type ServingModel } from '../update/store.ts';

export interface UpdateBoot {
  store: UpdateStore;
  /** The committed update per vision model (face-mesh, face-detector, ...), or null for the bundled one. */
  committedModels: Record<string, ServingModel | null>;
  catalogSlot: CatalogSlot;
  /** The serving catalog as the update agent knows it. */
  catalogModel: ServingModel;
  /** A committed catalog that did not load (the bundled one serves instead), for /healthz. */
  catalogFallback: string | null;
  /** The recommendation artifact the advisor reads (null inside: none installed, content alone). */
  trendsSlot: TrendsSlot;
  /** The serving recommendations as the update agent knows them. */
  trendsModel: ServingModel;
  /** The committed colour profile (kind "colour-profile"), or null: the local file serves (daemon/colour.ts). */
  committedColourProfile: ServingModel | null;
}

/** `releasesDir`: the application releases the running one belongs to (none: `<stateDir>/releases`). */
export async function bootUpdates(stateDir: string, logger: Logger, releasesDir?: string): Promise<UpdateBoot> {
  const store = new UpdateStore(stateDir, releasesDir ? { releasesDir } : {});
  const committedModels: Record<string, ServingModel | null> = {};
  for (const name of VISION_MODELS) {
    committedModels[name] = await prepareUpdateBoot(store, name, logger).catch((err: unknown) => {
      logger.error({ model: name, err: (err as Error).message }, 'update: boot check failed; serving the bundled model');
      return null;
    });
  }
  const committedCatalog = await prepareUpdateBoot(store, CATALOG_NAME, logger).catch((err: unknown) => {
    logger.error({ err: (err as Error).message }, 'update: boot check failed; serving the bundled catalog');
    return null;
  });
  const catalogBoot = await loadCommittedCatalog(committedCatalog, logger);
  const catalogSlot = new CatalogSlot(catalogBoot.serving, (err) => logger.error({ err: (err as Error).message }, 'catalog swap listener failed'));
  logger.info({ ...catalogSlot.summary() }, 'catalog loaded');
  const catalogFallback =
    committedCatalog?.dir && catalogBoot.model.dir === null
      ? `committed catalog ${committedCatalog.version} in ${path.basename(committedCatalog.dir)} does not load; serving the bundled one`
      : null;
  const committedTrends = await prepareUpdateBoot(store, RECOMMENDATIONS_NAME, logger).catch((err: unknown) => {
    logger.error({ err: (err as Error).message }, 'update: boot check failed; no recommendations');
    return null;
  });
  const trendsBoot = await loadCommittedTrends(committedTrends, logger);
  const trendsSlot = new TrendsSlot(trendsBoot.trends);
  const committedColourProfile = await prepareUpdateBoot(store, PROFILE_NAME, logger).catch((err: unknown) => {
    logger.error({ err: (err as Error).message }, 'update: boot check failed; the local colour profile serves');
    return null;
  });
  return { store, committedModels, catalogSlot, catalogModel: catalogBoot.model, catalogFallback, trendsSlot, trendsModel: trendsBoot.model, committedColourProfile };
}
