/**
 * Catalog v2 (in process): every cross-field rule refuses a bad catalog naming the field, v1
 * catalogs migrate, the serving slot tells its listeners, lookups and the kiosk message, the
 * config's pin, and the bundled demo catalog covers what the counter sells.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUNDLED_CATALOG_FILE,
  bundledCatalog,
  CATEGORIES,
  CatalogError,
  CatalogSlot,
  checkPin,
  findProduct,
  findShade,
  FINISHES,
  initialItems,
  parseCatalog,
  resolveItem,
  servingCatalog,
  toCatalogMessage,
  type CatalogV2,
} from '../../device/tryon/catalog.ts';
import { deltaE2000 } from '../../device/tryon/colour.ts';
import { formatCatalog, withLab } from '../../device/tools/catalog-lab.ts';
import { validateConfig } from '../../device/config/load.ts';

const BUNDLED_TEXT = readFileSync(BUNDLED_CATALOG_FILE, 'utf8');
const good = (): CatalogV2 => JSON.parse(BUNDLED_TEXT) as CatalogV2;
// Test mutations reach deep into the JSON; `any` keeps each one a single readable line.
type Json = Record<string, any>;

/** A catalog v1 as mirrors hold it today (the format before catalog v2). */
const V1 = {
  version: '2026.1.0',
  defaultProductId: 'demo-lipstick-ruby',
  products: [
    { id: 'demo-lipstick-ruby', name: 'Ruby Satin', category: 'lipstick', colour: '#A4213F', opacity: 0.6, finish: 'satin' },
    { id: 'lipstick-classic-red', name: 'Classic Red', category: 'lipstick', colour: '#b3121f', opacity: 0.7, finish: 'matte' },
    { id: 'lipstick_no_finish', name: 'No Finish', category: 'lipstick', colour: '#e0604f', opacity: 0.55 },
  ],
};

function errorOf(json: unknown): CatalogError {
  try {
    parseCatalog(JSON.stringify(json));
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return err as CatalogError;
  }
  throw new Error('expected a CatalogError');
}

const idx = (c: CatalogV2, productId: string): number => c.products.findIndex((p) => p.id === productId);

describe('catalog v2 validation: a bad catalog is refused naming the field', () => {
  const c0 = good();
  const duo = idx(c0, 'velour-duo');
  const quad = idx(c0, 'atelier-quad-shadow');
  const mono = idx(c0, 'atelier-mono-shadow');
  const liner = idx(c0, 'kora-precision-liner');
  const rouge = idx(c0, 'lumiere-rouge-satin');
  const matte = idx(c0, 'velour-velvet-matte');
  const found = idx(c0, 'northlight-second-skin');
  const cases: Array<[string, (c: Json) => unknown, string, RegExp]> = [
    ['colour name instead of hex', (c) => (c.products[2].shades[1].hex = 'red'), 'products.2.shades.1.hex', /#a4213f/],
    ['lab that disagrees with hex', (c) => (c.products[rouge].shades[0].lab = [36.6, 53.5, 30]), `products.${rouge}.shades.0.lab`, /ΔE2000 \d+\.\d\d from hex #a4213f/],
    ['lab of another shade (ΔE2000 > 1)', (c) => (c.products[matte].shades[0].lab = c.products[matte].shades[3].lab), `products.${matte}.shades.0.lab`, /at most 1/],
    ['lab out of range', (c) => (c.products[0].shades[0].lab = [120, 0, 0]), 'products.0.shades.0.lab.0', /100/],
    ['opacity above 1', (c) => (c.products[0].shades[3].opacity = 1.5), 'products.0.shades.3.opacity', /<= 1/],
    ['unknown category', (c) => (c.products[1].category = 'nail'), 'products.1.category', /lipstick/],
    ['unknown finish', (c) => (c.products[1].shades[0].finish = 'glitter'), 'products.1.shades.0.finish', /holographic/],
    ['eyeshadow pattern unknown', (c) => (c.products[quad].shades[2].style.pattern = 'halo'), `products.${quad}.shades.2.style.pattern`, /lidCreaseOuter/],
    ['style of another category', (c) => (c.products[liner].shades[0].style = { pattern: 'lid' }), `products.${liner}.shades.0.style.style`, /thin or winged/],
    ['a key of another category in a style', (c) => (c.products[liner].shades[1].style.pattern = 'lid'), `products.${liner}.shades.1.style`, /unknown key "pattern"/],
    ['ombre without secondHex', (c) => delete c.products[duo].shades[0].style.secondHex, `products.${duo}.shades.0.style.secondHex`, /required by lipstick "ombre"/],
    ['twoTone without secondHex', (c) => delete c.products[duo].shades[2].style.secondHex, `products.${duo}.shades.2.style.secondHex`, /required by lipstick "twoTone"/],
    ['full lipstick with a secondHex it would ignore', (c) => (c.products[rouge].shades[1].style.secondHex = '#ffffff'), `products.${rouge}.shades.1.style.secondHex`, /not used by lipstick "full"/],
    ['lidCrease without creaseHex', (c) => delete c.products[quad].shades[0].style.creaseHex, `products.${quad}.shades.0.style.creaseHex`, /required by eyeshadow "lidCrease"/],
    ['lidCreaseOuter without outerHex', (c) => delete c.products[quad].shades[3].style.outerHex, `products.${quad}.shades.3.style.outerHex`, /required by eyeshadow "lidCreaseOuter"/],
    ['lidCreaseOuter without creaseHex', (c) => delete c.products[quad].shades[4].style.creaseHex, `products.${quad}.shades.4.style.creaseHex`, /required/],
    ['lid with an outerHex it would ignore', (c) => (c.products[mono].shades[0].style.outerHex = '#000000'), `products.${mono}.shades.0.style.outerHex`, /not used by eyeshadow "lid"/],
    ['secondHex not a colour', (c) => (c.products[duo].shades[1].style.secondHex = 'coral'), `products.${duo}.shades.1.style.secondHex`, /#a4213f/],
    ['foundation coverage above 1', (c) => (c.products[found].shades[2].style.coverage = 2), `products.${found}.shades.2.style.coverage`, /<= 1/],
    ['duplicate product id', (c) => (c.products[3].id = c.products[0].id), 'products.3.id', /duplicate product id/],
    ['duplicate SKU', (c) => (c.products[4].sku = c.products[1].sku), 'products.4.sku', /duplicate SKU/],
    ['duplicate shade id in a product', (c) => (c.products[0].shades[5].id = c.products[0].shades[2].id), 'products.0.shades.5.id', /duplicate shade id/],
    ['duplicate look id', (c) => (c.looks[2].id = c.looks[0].id), 'looks.2.id', /duplicate look id/],
    ['look naming an unknown product', (c) => (c.looks[1].items[3].productId = 'no-such-product'), 'looks.1.items.3.productId', /not a product/],
    ['look naming a shade of another product', (c) => (c.looks[0].items[0].shadeId = 'ruby'), 'looks.0.items.0.shadeId', /not a shade of "velour-skin-tint"/],
    ['look with two lipsticks', (c) => c.looks[7].items.push({ productId: 'kora-glass-gloss', shadeId: 'coral-crush', intensity: 1 }, { productId: 'kora-prism', shadeId: 'opal-pink', intensity: 1 }), 'looks.7.items.2.productId', /second lipstick/],
    ['look intensity above 1', (c) => (c.looks[0].items[0].intensity = 1.2), 'looks.0.items.0.intensity', /<= 1/],
    ['default naming an unknown product', (c) => (c.default.productId = 'nope'), 'default.productId', /not a product/],
    ['default naming an unknown shade', (c) => (c.default.shadeId = 'nope'), 'default.shadeId', /not a shade of "lumiere-rouge-satin"/],
    ['price without currency', (c) => delete c.products[0].price.currency, 'products.0.price.currency', /./],
    ['SKU with spaces', (c) => (c.products[0].sku = 'NL SSF'), 'products.0.sku', /letters, digits/],
    ['no products', (c) => (c.products = []), 'products', /./],
    ['schema 3', (c) => (c.schema = 3), 'schema', /2/],
    ['unknown key on a shade', (c) => (c.products[0].shades[0].gloss = 1), 'products.0.shades.0', /unknown key "gloss"/],
  ];
  for (const [name, mutate, field, message] of cases) {
    it(`${name}: refused, naming "${field}"`, () => {
      const c = good() as unknown as Json;
      mutate(c);
      const err = errorOf(c);
      expect(err.field).toBe(field);
      expect(err.message).toContain(`catalog field "${field}"`);
      expect(err.message).toMatch(message);
    });
  }

  it('not JSON, or too big: refused as a whole', () => {
    expect(() => parseCatalog('{"schema":')).toThrow(/catalog field "\(catalog\)": not JSON/);
    expect(() => parseCatalog(' '.repeat(1024 * 1024 + 1))).toThrow(/more than the 1048576 allowed/);
  });
});

describe('catalog v1 -> v2 migration', () => {
  it('a v1 catalog is served as v2: one shade per product, lab computed with culori, defaultProductId -> default', () => {
    const c = parseCatalog(JSON.stringify(V1));
    expect(c.schema).toBe(2);
    expect(c.version).toBe('2026.1.0');
    expect(c.default).toEqual({ productId: 'demo-lipstick-ruby', shadeId: 'demo-lipstick-ruby' });
    expect(c.looks).toEqual([]);
    expect(c.products[0]).toMatchObject({ id: 'demo-lipstick-ruby', name: 'Ruby Satin', category: 'lipstick', brand: 'Mirror', line: 'Classic', sku: 'V1-demo-lipstick-ruby', price: { amount: 0, currency: 'EUR' } });
    expect(c.products[0].shades).toHaveLength(1);
    expect(c.products[0].shades[0]).toMatchObject({ id: 'demo-lipstick-ruby', name: 'Ruby Satin', hex: '#a4213f', opacity: 0.6, finish: 'satin' });
    expect(deltaE2000(c.products[0].shades[0].lab, '#a4213f')).toBeLessThan(1e-6);
    expect(c.products[1].shades[0].finish).toBe('matte');
    // v1 had no finish on some products: the v1 renderer drew them satin.
    expect(c.products[2]).toMatchObject({ sku: 'V1-lipstick-no-finish', shades: [{ finish: 'satin' }] });
    expect(c.products[2].shades[0].style).toBeUndefined();
  });

  const v1Cases: Array<[string, (c: Json) => unknown, string, RegExp]> = [
    ['v1 default not in the catalog', (c) => (c.defaultProductId = 'nope'), 'defaultProductId', /not a product/],
    ['v1 colour name', (c) => (c.products[1].colour = 'crimson'), 'products.1.colour', /must be a colour like "#a4213f" \(catalog v1/],
    ['v1 duplicate id', (c) => (c.products[2].id = c.products[0].id), 'products.2.id', /duplicate product id/],
    ['v1 second category', (c) => (c.products[0].category = 'blush'), 'products.0.category', /only category of catalog v1/],
    ['v1 metallic finish (v1 had four)', (c) => (c.products[0].finish = 'metallic'), 'products.0.finish', /matte, satin, sheer, gloss/],
  ];
  for (const [name, mutate, field, message] of v1Cases) {
    it(`${name}: refused, naming "${field}"`, () => {
      const c = structuredClone(V1) as Json;
      mutate(c);
      const err = errorOf(c);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
    });
  }
});

describe('the serving slot, lookups, the kiosk message and the pin', () => {
  it('swap serves the next catalog, tells every listener (one that throws does not stop the others), summary counts it', () => {
    const errors: unknown[] = [];
    const slot = new CatalogSlot(servingCatalog(bundledCatalog()), (err) => errors.push(err));
    const heard: string[] = [];
    const off = slot.onSwap((next, prev) => heard.push(`${prev.catalog.version}->${next.catalog.version}`));
    slot.onSwap(() => {
      throw new Error('kiosk gone');
    });
    slot.onSwap((next) => heard.push(`second:${next.artifactId}`));
    const v1 = servingCatalog(parseCatalog(JSON.stringify(V1)), 'catalog-v1');
    const previous = slot.swap(v1);
    expect(previous.catalog).toBe(bundledCatalog());
    expect(slot.current).toBe(v1);
    expect(heard).toEqual(['2026.2.0->2026.1.0', 'second:catalog-v1']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['kiosk gone']);
    expect(slot.summary()).toEqual({ version: '2026.1.0', products: 3, shades: 3, looks: 0, default: { productId: 'demo-lipstick-ruby', shadeId: 'demo-lipstick-ruby' }, artifactId: 'catalog-v1' });
    off();
    slot.swap(previous);
    expect(heard).toHaveLength(3);
    const b = bundledCatalog();
    expect(slot.summary()).toEqual({
      version: b.version,
      products: b.products.length,
      shades: b.products.reduce((n, p) => n + p.shades.length, 0),
      looks: b.looks.length,
      default: { productId: 'lumiere-rouge-satin', shadeId: 'ruby' },
      artifactId: null,
    });
  });

  it('findProduct / findShade / resolveItem name what is missing', () => {
    const c = bundledCatalog();
    const p = findProduct(c, 'velour-duo')!;
    expect(p.category).toBe('lipstick');
    expect(findShade(p, 'ombre-coral')?.style).toEqual({ style: 'ombre', secondHex: '#f08a6c' });
    expect(findProduct(c, 'nope')).toBeUndefined();
    expect(findShade(p, 'nope')).toBeUndefined();
    expect(resolveItem(c, { productId: 'velour-duo' })).toMatchObject({ ok: true, item: { shade: { id: 'ombre-berry' }, intensity: 1 } });
    expect(resolveItem(c, { productId: 'nope' })).toMatchObject({ ok: false, field: 'productId' });
    expect(resolveItem(c, { productId: 'velour-duo', shadeId: 'ruby' })).toMatchObject({ ok: false, field: 'shadeId', message: '"ruby" is not a shade of "velour-duo"' });
    expect(resolveItem(c, { productId: 'velour-duo', intensity: 1.5 })).toMatchObject({ ok: false, field: 'intensity' });
  });

  it('toCatalogMessage carries every product, shade and look the kiosk shows', () => {
    const c = bundledCatalog();
    const m = toCatalogMessage(c);
    expect(m.version).toBe(c.version);
    expect(m.products.map((p) => p.id)).toEqual(c.products.map((p) => p.id));
    expect(m.products.flatMap((p) => p.shades)).toHaveLength(c.products.reduce((n, p) => n + p.shades.length, 0));
    const duo = m.products.find((p) => p.id === 'velour-duo')!;
    expect(duo).toMatchObject({ brand: 'Velour & Co', line: 'Duo', category: 'lipstick', sku: 'VC-DUO-KIT-2X2G', price: { amount: 34, currency: 'EUR' } });
    expect(duo.shades[2]).toEqual({ ...c.products.find((p) => p.id === 'velour-duo')!.shades[2] });
    expect(m.looks).toEqual(c.looks);
    // A plain JSON document: what socket.io sends is what the kiosk gets.
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('tryon.pin: checked against the catalog naming the key; the pin, else the default, is what the shopper starts with', () => {
    const c = bundledCatalog();
    const pin = validateConfig({ tryon: { pin: { productId: 'kora-glass-gloss', shadeId: 'cherry-glaze', intensity: 0.5 } } }).tryon.pin!;
    expect(checkPin(c, pin)).toMatchObject({ product: { id: 'kora-glass-gloss' }, shade: { id: 'cherry-glaze' }, intensity: 0.5 });
    expect(() => checkPin(c, { productId: 'gone', intensity: 1 })).toThrow('config key "tryon.pin.productId": "gone" is not a product in catalog 2026.2.0');
    expect(() => checkPin(c, { productId: 'kora-glass-gloss', shadeId: 'ruby', intensity: 1 })).toThrow('config key "tryon.pin.shadeId"');
    expect(initialItems(c, pin).map((i) => `${i.product.id}/${i.shade.id}@${i.intensity}`)).toEqual(['kora-glass-gloss/cherry-glaze@0.5']);
    expect(initialItems(c, undefined).map((i) => `${i.product.id}/${i.shade.id}@${i.intensity}`)).toEqual(['lumiere-rouge-satin/ruby@1']);
    // A catalog update that drops the pinned product: the default again.
    const v1 = parseCatalog(JSON.stringify(V1));
    expect(initialItems(v1, pin).map((i) => i.product.id)).toEqual(['demo-lipstick-ruby']);
    expect(initialItems({ ...v1, default: undefined }, undefined)).toEqual([]);
  });

  it('the v1 pin (tryon.lipstick) in an old config fails naming the key and what replaces it', () => {
    expect(() => validateConfig({ tryon: { lipstick: { colour: '#a4213f' } } })).toThrow(/config key "tryon\.lipstick": was replaced by "tryon\.pin"/);
    expect(() => validateConfig({ tryon: { pin: { productId: 'x', intensity: 2 } } })).toThrow(/config key "tryon\.pin\.intensity"/);
    expect(validateConfig({ tryon: { pin: { productId: 'x' } } }).tryon.pin).toEqual({ productId: 'x', intensity: 1 });
  });
});

describe('the bundled demo catalog', () => {
  const c = bundledCatalog();
  const shades = c.products.flatMap((p) => p.shades.map((s) => ({ ...s, category: p.category })));

  it('covers every category with at least 80 shades and 8 looks, and lab is what catalog-lab.ts computes', () => {
    expect(c.schema).toBe(2);
    expect(shades.length).toBeGreaterThanOrEqual(80);
    expect(new Set(c.products.map((p) => p.category))).toEqual(new Set(CATEGORIES));
    expect(c.looks.length).toBeGreaterThanOrEqual(8);
    // The committed file is exactly what the tool writes: lab from culori, layout stable.
    expect(formatCatalog(withLab(c))).toBe(BUNDLED_TEXT);
  });

  it('lipsticks in all 7 finishes and full, ombre and two-tone; eyeshadow in all 3 patterns; thin and winged liner', () => {
    const lips = shades.filter((s) => s.category === 'lipstick');
    expect(new Set(lips.map((s) => s.finish))).toEqual(new Set(FINISHES));
    expect(new Set(lips.map((s) => s.style?.style))).toEqual(new Set(['full', 'ombre', 'twoTone']));
    expect(new Set(shades.filter((s) => s.category === 'eyeshadow').map((s) => s.style?.pattern))).toEqual(new Set(['lid', 'lidCrease', 'lidCreaseOuter']));
    expect(new Set(shades.filter((s) => s.category === 'eyeliner').map((s) => s.style?.style))).toEqual(new Set(['thin', 'winged']));
  });

  it('foundations span very light to very deep skin (L* 89 to 20) in warm, neutral and cool undertones', () => {
    const f = c.products.filter((p) => p.category === 'foundation').flatMap((p) => p.shades);
    const L = f.map((s) => s.lab[0]);
    expect(Math.max(...L)).toBeGreaterThan(85);
    expect(Math.min(...L)).toBeLessThan(25);
    expect(new Set(c.products.find((p) => p.id === 'northlight-second-skin')!.shades.map((s) => s.id.slice(-1)))).toEqual(new Set(['c', 'n', 'w']));
  });
});
