/**
 * The serving catalog on real faces (the bundled detector and mesh on the golden demo-clip frames):
 * the try-on stage renders the catalog's default (or the config's pin), a slot swap changes it from
 * the next frame on, and the catalog smoke test draws every shade (hair colour aside) with its
 * category's renderer and refuses an invisible one, in any category.
 */
import { describe, expect, it } from 'vitest';
import { bundledCatalog, CatalogSlot, parseCatalog, servingCatalog, type CatalogV2 } from '../../device/tryon/catalog.ts';
import { createTryOnStage, nothingChosen } from '../../device/tryon/tryon-stage.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { RENDERERS } from '../../device/tryon/render/registry.ts';
import { NOT_SMOKE_TESTED, smokeTestCatalog } from '../../device/update/catalog-smoke.ts';
import type { GoldenFace } from '../../device/update/vision-port.ts';
import { goldenFacesFromRuntime } from '../../device/vision/update-port.ts';
import { createTfjsRuntime } from '../../device/vision/runtime/tfjs-runtime.ts';
import { MirrorConfig } from '../../device/config/schema.ts';

const frameOf = (g: GoldenFace) => ({ id: 1, capturedAt: 0, width: g.image.width, height: g.image.height, format: 'rgb24' as const, data: Buffer.from(g.image.data) });
const edited = (edit: (c: CatalogV2) => void): CatalogV2 => {
  const c = structuredClone(bundledCatalog());
  edit(c);
  return parseCatalog(JSON.stringify(c));
};

describe('the serving catalog on real faces', () => {
  it('renders the catalog default; a swap takes effect on the next frame; a pin wins; the smoke test draws every shade', async () => {
    const runtime = await createTfjsRuntime('auto', { info: () => {}, warn: () => {}, error: () => {} });
    const golden: GoldenFace[] = await goldenFacesFromRuntime(runtime, { detectorMinScore: 0.5, meshMinScore: 0.5 });
    expect(golden.length).toBe(5);

    const slot = new CatalogSlot();
    const stage = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: slot, pin: MirrorConfig.parse({}).tryon.pin });
    const f0 = frameOf(golden[0]);
    expect(stage(f0, [golden[0].face])).toEqual(['lumiere-rouge-satin']);
    expect(f0.data.equals(Buffer.from(golden[0].image.data))).toBe(false);

    slot.swap(servingCatalog(edited((c) => (c.default = { productId: 'velour-velvet-matte', shadeId: 'plum-noir' })), 'catalog-a'));
    expect(stage(frameOf(golden[0]), [golden[0].face])).toEqual(['velour-velvet-matte']);
    expect(stage(frameOf(golden[0]), [])).toEqual([]);
    // No default: nothing on the face before the shopper chooses.
    slot.swap(servingCatalog(edited((c) => delete c.default)));
    const bare = frameOf(golden[1]);
    expect(stage(bare, [golden[1].face])).toEqual([]);
    expect(bare.data.equals(Buffer.from(golden[1].image.data))).toBe(true);

    const pinned = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: slot, pin: MirrorConfig.parse({ tryon: { pin: { productId: 'kora-glass-gloss', shadeId: 'cherry-glaze' } } }).tryon.pin });
    expect(pinned(frameOf(golden[0]), [golden[0].face])).toEqual(['kora-glass-gloss']);

    // Smoke test: every bundled shade drawn by its renderer, visibly, on the golden frames in turn.
    const t0 = performance.now();
    expect(await smokeTestCatalog(bundledCatalog(), golden)).toBeNull();
    const shades = bundledCatalog().products.filter((p) => !NOT_SMOKE_TESTED.has(p.category)).reduce((n, p) => n + p.shades.length, 0);
    console.log(`[catalog] smoke test: ${shades} shades on ${golden.length} golden frames in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(shades).toBeGreaterThanOrEqual(80);
    /** The bundled catalog with one shade made invisible. */
    const invisible = (productId: string, shadeId: string, extra: Record<string, unknown> = {}) =>
      edited((c) => Object.assign(c.products.find((p) => p.id === productId)!.shades.find((s) => s.id === shadeId)!, { opacity: 0 }, extra));
    const cases: Array<[string, string, Record<string, unknown>?]> = [
      ['kora-glass-gloss', 'clear-pink'],
      ['atelier-quad-shadow', 'plum-night'],
      ['kora-precision-liner', 'navy-wing'],
      ['northlight-lash-lift', 'brown-black'],
      // Foundation at opacity 0 still evens the skin (coverage); with no coverage either it is invisible.
      ['northlight-second-skin', '120c', { style: { coverage: 0 } }],
    ];
    for (const [productId, shadeId, extra] of cases) {
      expect(await smokeTestCatalog(invisible(productId, shadeId, extra), golden)).toMatch(new RegExp(`^product "${productId}" shade "${shadeId}" on golden frame [1-5]: (nothing rendered|pixels unchanged)`));
    }
    // A category the firmware has no renderer for (an older firmware meeting a newer catalog).
    const withoutBrows = new Map([...RENDERERS].filter(([c]) => c !== 'brows'));
    expect(await smokeTestCatalog(bundledCatalog(), golden, withoutBrows)).toBe('product "kora-brow-define": no renderer for category "brows"');
    expect(await smokeTestCatalog(bundledCatalog(), [])).toMatch(/no golden frame/);
  });
});
