/**
 * The product catalog: schema errors name the field, the bundled catalog is valid and defaults
 * to the shade the mirror has always shown, the try-on stage renders the catalog's default (or the
 * config's pinned shade), and the catalog smoke test renders every product on the golden frames.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUNDLED_CATALOG_FILE,
  bundledCatalog,
  CatalogError,
  CatalogSlot,
  parseCatalog,
  servingCatalog,
  type Catalog,
} from '../../device/tryon/catalog.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { smokeTestCatalog } from '../../device/update/catalog-host.ts';
import type { GoldenFace } from '../../device/update/vision-port.ts';
import { goldenFacesFromRuntime } from '../../device/vision/update-port.ts';
import { createTfjsRuntime } from '../../device/vision/runtime/tfjs-runtime.ts';
import { MirrorConfig } from '../../device/config/schema.ts';

const good = (): Catalog => JSON.parse(readFileSync(BUNDLED_CATALOG_FILE, 'utf8')) as Catalog;

function errorOf(json: unknown): CatalogError {
  try {
    parseCatalog(JSON.stringify(json));
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return err as CatalogError;
  }
  throw new Error('expected a CatalogError');
}

describe('catalog schema', () => {
  it('the bundled catalog is valid; its default is the demo ruby shade', () => {
    const c = bundledCatalog();
    expect(c.products.length).toBeGreaterThanOrEqual(5);
    expect(servingCatalog(c).defaultShade).toEqual({ productId: 'demo-lipstick-ruby', colour: '#a4213f', opacity: 0.6 });
  });

  const cases: Array<[string, (c: Catalog) => unknown, string, RegExp]> = [
    ['colour name instead of hex', (c) => ((c.products[2] as { colour: string }).colour = 'red'), 'products.2.colour', /#a4213f/],
    ['opacity above 1', (c) => ((c.products[0] as { opacity: number }).opacity = 1.5), 'products.0.opacity', /<= 1/],
    ['unknown category', (c) => ((c.products[1] as { category: string }).category = 'mascara'), 'products.1.category', /lipstick/],
    ['unknown finish', (c) => ((c.products[1] as { finish: string }).finish = 'glitter'), 'products.1.finish', /matte/],
    ['duplicate id', (c) => ((c.products[3] as { id: string }).id = c.products[0].id), 'products.3.id', /duplicate/],
    ['default not in the catalog', (c) => ((c as { defaultProductId: string }).defaultProductId = 'nope'), 'defaultProductId', /not a product/],
    ['no products', (c) => ((c as { products: unknown[] }).products = []), 'products', /at least one/],
    ['missing version', (c) => delete (c as { version?: string }).version, 'version', /string/],
    ['unknown key', (c) => ((c.products[0] as Record<string, unknown>).price = 12), 'products.0', /price/],
  ];
  for (const [name, mutate, field, message] of cases) {
    it(`${name}: refused, naming "${field}"`, () => {
      const c = good();
      mutate(c);
      const err = errorOf(c);
      expect(err.field).toBe(field);
      expect(err.message).toContain(`catalog field "${field}"`);
      expect(err.message).toMatch(message);
    });
  }

  it('not JSON: refused as a whole', () => {
    expect(() => parseCatalog('{"version":')).toThrow(/catalog field "\(catalog\)": not JSON/);
  });
});

describe('try-on stage and the catalog slot', () => {
  it('renders the catalog default; a swap takes effect on the next frame; a pinned shade in the config wins', async () => {
    const runtime = await createTfjsRuntime('auto', { info: () => {}, warn: () => {}, error: () => {} });
    const golden: GoldenFace[] = await goldenFacesFromRuntime(runtime, { detectorMinScore: 0.5, meshMinScore: 0.5 });
    expect(golden.length).toBe(5);
    const frameOf = (g: GoldenFace) => ({ id: 1, capturedAt: 0, width: g.image.width, height: g.image.height, format: 'rgb24' as const, data: Buffer.from(g.image.data) });

    const slot = new CatalogSlot();
    const config = MirrorConfig.parse({});
    expect(config.tryon.lipstick).toBeUndefined();
    const stage = createTryOnStage(config.tryon, slot);
    expect(stage(frameOf(golden[0]), [golden[0].face])).toEqual(['demo-lipstick-ruby']);
    const next = { ...good(), version: '2026.2.0', defaultProductId: 'lipstick-coral-crush' };
    slot.swap(servingCatalog(parseCatalog(JSON.stringify(next)), 'catalog-a'));
    expect(stage(frameOf(golden[0]), [golden[0].face])).toEqual(['lipstick-coral-crush']);
    expect(slot.summary()).toEqual({ version: '2026.2.0', products: next.products.length, defaultProductId: 'lipstick-coral-crush', artifactId: 'catalog-a' });
    expect(stage(frameOf(golden[0]), [])).toEqual([]);

    const pinned = createTryOnStage(MirrorConfig.parse({ tryon: { lipstick: { productId: 'demo-pinned', colour: '#ff0000' } } }).tryon, slot);
    expect(pinned(frameOf(golden[0]), [golden[0].face])).toEqual(['demo-pinned']);

    // Smoke test: every bundled product renders and changes lip pixels on every golden frame.
    expect(smokeTestCatalog(bundledCatalog(), golden)).toBeNull();
    const invisible = { ...good(), products: good().products.map((p, i) => (i === 3 ? { ...p, opacity: 0 } : p)) };
    expect(smokeTestCatalog(parseCatalog(JSON.stringify(invisible)), golden)).toMatch(/product "lipstick-coral-crush" on golden frame 1: (nothing rendered|lip pixels unchanged)/);
    expect(smokeTestCatalog(bundledCatalog(), [])).toMatch(/no golden frame/);
  });
});
