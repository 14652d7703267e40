/**
 * The shopper's selection: what they have on (one product per category), the look it came from
 * while unchanged, and the before/after split. It belongs to the shopper's session: the daemon
 * resets it when the session ends (device/daemon/tryon.ts), so the next shopper starts from what
 * is shown before anyone chose (the config's pin or the catalog's `default`, or nothing).
 *
 * Every reference is checked against the SERVING catalog; a refused change changes nothing. When
 * the catalog switches, items are re-read from the new one (a shade's colour may have changed
 * under the same id) and those it no longer sells are dropped. The try-on stage reads the items
 * resolved (`forStage`) once per frame; they are rebuilt on change, never per frame.
 */
import { defaultItems, findProduct, resolveItem, type ItemRef } from './catalog/lookup.ts';
import { CATEGORIES, type CatalogV2, type Category } from './catalog/schema.ts';
import type { ServingCatalog } from './catalog/slot.ts';
import type { AppliedProduct } from './render/renderer.ts';
import { decodeSavedLook, isSavedLookId, type LookItemRef } from './saved-look.ts';
import type { TryOnStateMessage } from '../transport/events.ts';
import type { TryOnSelection } from './tryon-stage.ts';

/** A refused change: which command field is wrong, and why. */
export interface SelectionError {
  field: string;
  message: string;
}

export type SelectionResult = { ok: true; state: TryOnStateMessage } | { ok: false; error: SelectionError };

/** Why the state changed: a catalog switch also sends the kiosks the new catalog first. */
export type ChangeCause = 'command' | 'catalog' | 'reset';

/** The serving catalog as the selection needs it (catalog/slot.ts CatalogSlot). */
export interface CatalogSource {
  readonly current: ServingCatalog;
  onSwap(listener: (next: ServingCatalog) => void): unknown;
}

export interface SelectionOptions {
  catalog: CatalogSource;
  /** A product and shade the shopper chose (not the catalog default, not a re-selection: SessionTracker dedupes). */
  onTried: (productId: string, shadeId: string) => void;
  /** What is on before anyone chose (catalog/pin.ts initialItems: the config's pin or the catalog's `default`). */
  initial?: (catalog: CatalogV2) => AppliedProduct[];
}

/** Intensities are kept in 1 % steps, what a saved look id stores, so a saved look reads back equal. */
const quantise = (intensity: number) => Math.round(intensity * 100) / 100;

export class Selection {
  #catalog: CatalogV2;
  #items = new Map<Category, AppliedProduct>();
  /** Whether the shopper chose anything since the last reset (until then the catalog default follows catalog switches). */
  #chosen = false;
  #lookId: string | null = null;
  #compare: number | null = null;
  #revision = 0;
  #stage: TryOnSelection;
  readonly #onTried: SelectionOptions['onTried'];
  readonly #initial: (catalog: CatalogV2) => AppliedProduct[];
  readonly #listeners = new Set<(state: TryOnStateMessage, cause: ChangeCause) => void>();

  constructor(options: SelectionOptions) {
    this.#catalog = options.catalog.current.catalog;
    this.#onTried = options.onTried;
    this.#initial = options.initial ?? defaultItems;
    this.#setItems(this.#initial(this.#catalog));
    this.#stage = { items: ordered(this.#items), compare: null, chosen: false };
    options.catalog.onSwap((next) => this.#switchCatalog(next.catalog));
  }

  /** The catalog the selection is checked against (the serving one). */
  get catalog(): CatalogV2 {
    return this.#catalog;
  }

  state(): TryOnStateMessage {
    return {
      items: this.#stage.items.map((i) => ({ productId: i.product.id, shadeId: i.shade.id, intensity: i.intensity, category: i.product.category })),
      lookId: this.#lookId,
      compare: this.#compare,
      revision: this.#revision,
    };
  }

  /** For the try-on stage, once per frame: the same object until the next change. */
  forStage(): TryOnSelection {
    return this.#stage;
  }

  /** The items as references (what a saved look encodes). */
  refs(): LookItemRef[] {
    return this.#stage.items.map((i) => ({ productId: i.product.id, shadeId: i.shade.id, intensity: i.intensity }));
  }

  /** Hears every change (after it took effect). */
  onChange(listener: (state: TryOnStateMessage, cause: ChangeCause) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Puts a product on, replacing its category's product; shade defaults to the first, intensity to 1. */
  set(ref: ItemRef): SelectionResult {
    const r = resolveItem(this.#catalog, ref);
    if (!r.ok) return { ok: false, error: { field: r.field, message: r.message } };
    const item = { ...r.item, intensity: quantise(r.item.intensity) };
    const items = new Map(this.#items).set(item.product.category, item);
    this.#chosen = true;
    this.#onTried(item.product.id, item.shade.id);
    return this.#commit(items, null, this.#compare);
  }

  /** Takes one product off, named by id or by category (both: they must agree); not on is no change. */
  remove(by: { productId?: string; category?: string }): SelectionResult {
    let category: Category | undefined;
    if (by.category !== undefined) {
      if (!(CATEGORIES as readonly string[]).includes(by.category)) return fail('category', `"${by.category}" is not one of ${CATEGORIES.join(', ')}`);
      category = by.category as Category;
    }
    if (by.productId !== undefined) {
      const product = findProduct(this.#catalog, by.productId);
      if (!product) return fail('productId', `"${by.productId}" is not a product in catalog ${this.#catalog.version}`);
      if (category && product.category !== category) return fail('category', `"${product.id}" is a ${product.category} product, not ${category}`);
      if (this.#items.get(product.category)?.product.id !== product.id) return { ok: true, state: this.state() };
      category = product.category;
    }
    if (!category) return fail('productId', 'name the product (productId) or the category to take off');
    if (!this.#items.has(category)) return { ok: true, state: this.state() };
    const items = new Map(this.#items);
    items.delete(category);
    this.#chosen = true;
    return this.#commit(items, null, this.#compare);
  }

  clear(): SelectionResult {
    this.#chosen = true;
    return this.#commit(new Map(), null, this.#compare);
  }

  /** Replaces everything with a catalog look, or a saved look read back from its id. */
  look(lookId: string): SelectionResult {
    let refs: LookItemRef[];
    if (isSavedLookId(lookId)) {
      const decoded = decodeSavedLook(this.#catalog, lookId);
      if (!decoded.ok) return fail('lookId', `saved look ${decoded.message}`);
      refs = decoded.items;
    } else {
      const look = this.#catalog.looks.find((l) => l.id === lookId);
      if (!look) return fail('lookId', `"${lookId}" is not a look in catalog ${this.#catalog.version}`);
      refs = look.items;
    }
    const items = new Map<Category, AppliedProduct>();
    for (const ref of refs) {
      const r = resolveItem(this.#catalog, ref);
      if (!r.ok) return fail('lookId', `look item "${ref.productId}/${ref.shadeId}": ${r.message}`);
      if (items.has(r.item.product.category)) return fail('lookId', `the look has two ${r.item.product.category} products`);
      items.set(r.item.product.category, { ...r.item, intensity: quantise(r.item.intensity) });
    }
    this.#chosen = true;
    for (const item of items.values()) this.#onTried(item.product.id, item.shade.id);
    return this.#commit(items, lookId, this.#compare);
  }

  /** Before/after: the left `split` of the displayed width shows the shopper bare; null turns it off. */
  compare(split: number | null): SelectionResult {
    return this.#commit(this.#items, this.#lookId, split);
  }

  /** The session ended: back to what a new shopper sees first. */
  reset(): void {
    this.#chosen = false;
    this.#lookId = null;
    this.#compare = null;
    this.#setItems(this.#initial(this.#catalog));
    this.#changed('reset');
  }

  #switchCatalog(next: CatalogV2): void {
    const previous = this.#items;
    this.#catalog = next;
    if (!this.#chosen) {
      this.#setItems(this.#initial(next));
    } else {
      const kept: AppliedProduct[] = [];
      for (const item of previous.values()) {
        const r = resolveItem(next, { productId: item.product.id, shadeId: item.shade.id, intensity: item.intensity });
        if (r.ok) kept.push(r.item);
      }
      if (kept.length !== previous.size) this.#lookId = null;
      this.#setItems(kept);
    }
    // Always sent: even unchanged ids may carry new names and colours.
    this.#changed('catalog');
  }

  #commit(items: Map<Category, AppliedProduct>, lookId: string | null, compare: number | null): SelectionResult {
    this.#items = items;
    this.#lookId = lookId;
    this.#compare = compare;
    this.#changed('command');
    return { ok: true, state: this.state() };
  }

  #setItems(items: AppliedProduct[]): void {
    this.#items = new Map(items.map((i) => [i.product.category, i]));
  }

  #changed(cause: ChangeCause): void {
    this.#revision += 1;
    this.#stage = { items: ordered(this.#items), compare: this.#compare, chosen: this.#chosen };
    const state = this.state();
    for (const listener of this.#listeners) listener(state, cause);
  }
}

function fail(field: string, message: string): SelectionResult {
  return { ok: false, error: { field, message } };
}

function ordered(items: Map<Category, AppliedProduct>): AppliedProduct[] {
  return CATEGORIES.flatMap((c) => items.get(c) ?? []);
}
