/**
 * The one reference to the serving catalog. The pipeline handles one frame at a time and the
 * try-on stage reads `current` once per frame, so `swap` (synchronous) takes effect between frames
 * and a frame never sees half of two catalogs. Listeners (the kiosk's `catalog` event, the
 * shopper's selection) hear every swap, after it took effect.
 */
import { bundledCatalog } from './load.ts';
import type { CatalogV2 } from './schema.ts';

/** A catalog ready to serve (validated; immutable from here on). */
export interface ServingCatalog {
  readonly catalog: CatalogV2;
  /** The update artifact it came from; undefined for the bundled catalog. */
  readonly artifactId?: string;
}

export function servingCatalog(catalog: CatalogV2, artifactId?: string): ServingCatalog {
  return { catalog, ...(artifactId ? { artifactId } : {}) };
}

/** What /healthz, the start-up log and telemetry report about the serving catalog. */
export interface CatalogSummary {
  version: string;
  products: number;
  shades: number;
  looks: number;
  default: { productId: string; shadeId: string } | null;
  artifactId: string | null;
}

export function summarise(serving: ServingCatalog): CatalogSummary {
  const c = serving.catalog;
  return {
    version: c.version,
    products: c.products.length,
    shades: c.products.reduce((n, p) => n + p.shades.length, 0),
    looks: c.looks.length,
    default: c.default ? { productId: c.default.productId, shadeId: c.default.shadeId } : null,
    artifactId: serving.artifactId ?? null,
  };
}

export type SwapListener = (next: ServingCatalog, previous: ServingCatalog) => void;

export class CatalogSlot {
  #current: ServingCatalog;
  readonly #listeners = new Set<SwapListener>();
  readonly #onListenerError: (err: unknown) => void;
  /** `onListenerError` hears a listener that threw (the daemon logs it); the swap still happened. */
  constructor(initial: ServingCatalog = servingCatalog(bundledCatalog()), onListenerError: (err: unknown) => void = (err) => process.emitWarning(`catalog swap listener failed: ${String(err)}`)) {
    this.#current = initial;
    this.#onListenerError = onListenerError;
  }
  get current(): ServingCatalog {
    return this.#current;
  }
  /** Serves `next` from the next frame on, tells the listeners; returns the catalog it replaces. */
  swap(next: ServingCatalog): ServingCatalog {
    const previous = this.#current;
    this.#current = next;
    for (const listener of this.#listeners) {
      // One failing listener (a kiosk gone mid-emit) must not stop the others or the update.
      try {
        listener(next, previous);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
    return previous;
  }
  /** Calls `listener` after every swap; returns the function that removes it. */
  onSwap(listener: SwapListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  summary(): CatalogSummary {
    return summarise(this.#current);
  }
}
