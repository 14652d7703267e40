/**
 * The serving catalog on real faces (the bundled detector and mesh on the golden demo-clip frames):
 * the try-on stage renders the catalog's default (or the config's pin), a slot swap changes it from
 * the next frame on, and the catalog smoke test renders every lipstick shade and refuses an
 * invisible one.
 */
import { describe, expect, it } from 'vitest';
import { bundledCatalog, CatalogSlot, parseCatalog, servingCatalog, type CatalogV2 } from '../../device/tryon/catalog.ts';
import { createTryOnStage, nothingChosen } from '../../device/tryon/tryon-stage.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { smokeTestCatalog } from '../../device/update/catalog-host.ts';
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
  it('renders the catalog default; a swap takes effect on the next frame; a pin wins; the smoke test renders every lipstick shade', async () => {
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

    // Smoke test: every bundled lipstick shade renders and changes lip pixels on every golden frame.
    expect(smokeTestCatalog(bundledCatalog(), golden)).toBeNull();
    const invisible = edited((c) => (c.products.find((p) => p.id === 'kora-glass-gloss')!.shades[1].opacity = 0));
    expect(smokeTestCatalog(invisible, golden)).toMatch(/product "kora-glass-gloss" shade "clear-pink" on golden frame 1: (nothing rendered|lip pixels unchanged)/);
    expect(smokeTestCatalog(bundledCatalog(), [])).toMatch(/no golden frame/);
  });
});
