/** The serving catalog as the kiosk receives it (`catalog` event, device/transport/events.ts). */
import type { CatalogMessage } from '../../transport/events.ts';
import type { CatalogV2 } from './schema.ts';

/**
 * Everything a shopper is shown or picks from. Copied field by field (not spread), so a field added
 * to the schema reaches the kiosk only when someone decides it should.
 */
export function toCatalogMessage(catalog: CatalogV2): CatalogMessage {
  return {
    version: catalog.version,
    products: catalog.products.map((p) => ({
      id: p.id,
      category: p.category,
      brand: p.brand,
      line: p.line,
      name: p.name,
      sku: p.sku,
      price: { amount: p.price.amount, currency: p.price.currency },
      shades: p.shades.map((s) => ({
        id: s.id,
        name: s.name,
        hex: s.hex,
        lab: [s.lab[0], s.lab[1], s.lab[2]],
        opacity: s.opacity,
        finish: s.finish,
        ...(s.style ? { style: { ...s.style } } : {}),
      })),
    })),
    looks: catalog.looks.map((l) => ({ id: l.id, name: l.name, items: l.items.map((i) => ({ productId: i.productId, shadeId: i.shadeId, intensity: i.intensity })) })),
  };
}
