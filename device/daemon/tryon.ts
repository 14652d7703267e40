/**
 * The shopper's control of the try-on as the daemon starts it: one selection for the mirror,
 * checked against the serving catalog, reset when the shopper's session ends (privacy: nothing of
 * theirs outlives it), driven by the kiosk's commands, and read by the try-on stage every frame.
 */
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { SessionTracker } from '../telemetry/events.ts';
import type { KioskServer } from '../transport/kiosk-server.ts';
import { registerTryOnCommands } from '../transport/tryon-commands.ts';
import { initialItems, type CatalogSlot } from '../tryon/catalog.ts';
import { Selection } from '../tryon/selection.ts';

export interface TryOnControl {
  selection: Selection;
  /** A reloaded `tryon` section: the save URL at once, the pin from the next shopper on (never mid-session). */
  reconfigure(next: MirrorConfig): void;
}

export function startTryOnControl(config: MirrorConfig, parts: { catalogSlot: CatalogSlot; sessions: SessionTracker; kiosk: KioskServer }, logger: Logger): TryOnControl {
  const { catalogSlot, sessions, kiosk } = parts;
  let tryon = config.tryon;
  const selection = new Selection({
    catalog: catalogSlot,
    onTried: (productId, shadeId) => sessions.tried(productId, shadeId, Date.now()),
    initial: (catalog) => initialItems(catalog, tryon.pin),
  });
  sessions.onEnd(() => selection.reset());
  registerTryOnCommands(kiosk, {
    selection,
    onActivity: (at) => sessions.present(at),
    onLookSaved: (lookId, productIds, at) => sessions.lookSaved(lookId, productIds, at),
    saveUrl: () => tryon.saveUrl,
    logger,
  });
  return {
    selection,
    reconfigure(next) {
      tryon = next.tryon;
    },
  };
}
