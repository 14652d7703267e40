/**
 * The catalog smoke test: before a catalog update serves, every shade is drawn on a golden frame
 * (the demo clip's faces, found by the bundled detector and mesh) by the renderer the try-on
 * stage would use for it (render/registry.ts), through the same RenderContext and occlusion gate.
 * Each render must succeed and visibly change pixels. One context per golden frame is shared by
 * its shades (its masks, gate and light depend only on the camera's pixels, which are restored
 * before each shade), so the 2-core mirror pays for the masks once per frame, not once per shade.
 *
 * Hair colour is not drawn here: it needs the person segmentation, which golden frames do not
 * carry; its shades are checked by validation only.
 */
import type { Frame } from '../core/frame.ts';
import type { CatalogV2, Category, Product, Shade } from '../tryon/catalog/schema.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createRenderContext } from '../tryon/render/context.ts';
import { RENDERERS } from '../tryon/render/registry.ts';
import type { CategoryRenderer, RenderContext } from '../tryon/render/renderer.ts';
import type { GoldenFace } from './vision-port.ts';

export const NOT_SMOKE_TESTED: ReadonlySet<Category> = new Set(['hairColour']);

/**
 * Fewer changed channel values than this is not a product anyone can see (opacity 0, or the
 * region's own colour): the thinnest region drawn, a thin liner at 640 px, moves hundreds.
 */
export const MIN_CHANGED = 30;

interface GoldenContext {
  n: number;
  original: Uint8Array;
  ctx: RenderContext;
}

function goldenContext(golden: GoldenFace, n: number): GoldenContext {
  const { image, face } = golden;
  const frame: Frame = { id: n, capturedAt: 0, width: image.width, height: image.height, format: 'rgb24', data: Buffer.from(image.data) };
  // As the stage does: the gate reads the camera's pixels before anything is painted.
  return { n, original: image.data, ctx: createRenderContext(frame, face, createOcclusionGate(frame, face)) };
}

function smokeShade(renderer: CategoryRenderer, product: Product, shade: Shade, g: GoldenContext): string | null {
  const data = g.ctx.frame.data;
  data.set(g.original);
  const what = `product "${product.id}" shade "${shade.id}" on golden frame ${g.n}`;
  let rendered: boolean;
  try {
    rendered = renderer.render(g.ctx, { product, shade, intensity: 1 });
  } catch (err) {
    return `${what}: render failed (${(err as Error).message})`;
  }
  if (!rendered) return `${what}: nothing rendered`;
  let changed = 0;
  for (let p = 0; p < data.length; p++) if (data[p] !== g.original[p]) changed++;
  return changed < MIN_CHANGED ? `${what}: pixels unchanged (${changed} channel values differ)` : null;
}

/** Lets the frame pipeline run between two renders: the smoke test runs while the old catalog serves. */
const yieldToFrames = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Every shade (hair colour aside) drawn once at full intensity, on the golden frames in turn (shade
 * k on frame k mod n, so every face is used): the first problem, or null. Once per shade, not once
 * per shade and frame: 87 shades x 5 frames took 16 s of the 2-core CPU, and what this test is for
 * (a shade nobody would see, a style its renderer cannot draw) shows on any face.
 */
export async function smokeTestCatalog(catalog: CatalogV2, golden: readonly GoldenFace[], renderers: ReadonlyMap<Category, CategoryRenderer> = RENDERERS): Promise<string | null> {
  if (golden.length === 0) return 'no golden frame with a face to render on';
  const contexts = golden.map((g, i) => goldenContext(g, i + 1));
  let k = 0;
  for (const product of catalog.products) {
    if (NOT_SMOKE_TESTED.has(product.category)) continue;
    const renderer = renderers.get(product.category);
    if (!renderer) return `product "${product.id}": no renderer for category "${product.category}"`;
    for (const shade of product.shades) {
      const problem = smokeShade(renderer, product, shade, contexts[k++ % contexts.length]);
      if (problem) return problem;
      await yieldToFrames();
    }
  }
  return null;
}
