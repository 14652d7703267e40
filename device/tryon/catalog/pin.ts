/**
 * The config's `tryon.pin`: one catalog shade on the shopper's face before they choose, in place of
 * the catalog's `default`. Checked against the serving catalog at start; resolved again against
 * whichever catalog serves, so a catalog update that drops the pinned shade brings back the default.
 */
import { MirrorError } from '../../../fleet/protocol/errors.ts';
import type { MirrorConfig } from '../../config/schema.ts';
import type { AppliedProduct } from '../render/renderer.ts';
import { defaultItems, resolveItem } from './lookup.ts';
import type { CatalogV2 } from './schema.ts';

export type TryOnPin = NonNullable<MirrorConfig['tryon']['pin']>;

/** The pinned item in `catalog`; a config error naming `tryon.pin.<field>` when it is not there. */
export function checkPin(catalog: CatalogV2, pin: TryOnPin): AppliedProduct {
  const r = resolveItem(catalog, pin);
  if (!r.ok) throw new MirrorError('MIRROR_ERR_CONFIG', `config key "tryon.pin.${r.field}": ${r.message}`);
  return r.item;
}

/** What is on the shopper's face before they choose: the pin where it resolves, else the catalog default. */
export function initialItems(catalog: CatalogV2, pin: TryOnPin | undefined): AppliedProduct[] {
  const pinned = pin ? resolveItem(catalog, pin) : undefined;
  return pinned?.ok ? [pinned.item] : defaultItems(catalog);
}
