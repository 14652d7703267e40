/**
 * The try-on stage as the daemon runs it (createTryOnStage with the real occlusion gate, the
 * bundled demo catalog and the registry's renderers) on real photos with their real mesh:
 * the before/after split keeps the displayed-left part (the frame's right side) byte-identical,
 * items are drawn in CATEGORIES order whatever order the selection lists them in, only faces[0]
 * is rendered (a bystander's face stays as it was), and nothing chosen shows the catalog default.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../device/core/frame.ts';
import { CatalogSlot, resolveItem, bundledCatalog } from '../../device/tryon/catalog.ts';
import { CATEGORIES, type Category } from '../../device/tryon/catalog/schema.ts';
import { FrameArena, withArena } from '../../device/tryon/frame-arena.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import type { PaintScratch } from '../../device/tryon/render/paint.ts';
import { RENDERERS } from '../../device/tryon/render/registry.ts';
import type { AppliedProduct, CategoryRenderer } from '../../device/tryon/render/renderer.ts';
import { Kernels } from '../../device/tryon/simd/kernels.ts';
import { createTryOnStage, nothingChosen, wantsSegmentation, type TryOnSelection } from '../../device/tryon/tryon-stage.ts';
import type { Face } from '../../device/vision/face.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { regionBox } from '../../device/vision/regions.ts';
import { cropImage, loadVision, onlyShopper, readRgb } from '../helpers/vision.ts';
import { frameOf, shopperFrom, type Shopper } from '../helpers/tryon.ts';

let vision: Awaited<ReturnType<typeof loadVision>>;
let shopper: Shopper;
beforeAll(async () => {
  vision = await loadVision();
  shopper = await shopperFrom(vision, '@vladmandic/face-api/demo/sample4.jpg');
});

/** A look from the bundled catalog, resolved as the shopper's selection would be. */
function look(id: string): AppliedProduct[] {
  const catalog = bundledCatalog();
  return catalog.looks
    .find((l) => l.id === id)!
    .items.map((ref) => {
      const r = resolveItem(catalog, ref);
      if (!r.ok) throw new Error(r.message);
      return r.item;
    });
}

const stageWith = (selection: TryOnSelection, renderers?: ReadonlyMap<Category, CategoryRenderer>) =>
  createTryOnStage({ selection: () => selection, gate: createOcclusionGate, catalog: new CatalogSlot(), ...(renderers ? { renderers } : {}) });

/** Columns from `x0` on (all rows) equal between two frames. */
function columnsEqual(a: Frame, b: Uint8Array, x0: number, x1: number): boolean {
  for (let y = 0; y < a.height; y++) {
    const s = (y * a.width + x0) * 3;
    const e = (y * a.width + x1) * 3;
    if (!a.data.subarray(s, e).equals(Buffer.from(b.subarray(s, e)))) return false;
  }
  return true;
}

describe('try-on stage', () => {
  it('before/after: the displayed left (the frame right) stays byte-identical; the rest is made up', () => {
    const items = look('evening-glam');
    const oval = regionBox(shopper.face.landmarks, 'faceOval');
    // Through the middle of the face, and through its left third.
    for (const split of [0.5, 1 - (oval.x + oval.width / 3) / shopper.image.width]) {
      const frame = frameOf(shopper.image);
      const applied = stageWith({ items, compare: split })(frame, [shopper.face]);
      expect(applied.length).toBeGreaterThan(3);
      const x0 = Math.round(frame.width * (1 - split));
      // The split must cross the face for this to mean anything.
      expect(x0).toBeGreaterThan(oval.x);
      expect(x0).toBeLessThan(oval.x + oval.width);
      expect(columnsEqual(frame, shopper.image.data, x0, frame.width)).toBe(true);
      expect(columnsEqual(frame, shopper.image.data, 0, x0)).toBe(false);
    }
    const whole = frameOf(shopper.image);
    expect(stageWith({ items, compare: 1 })(whole, [shopper.face])).toEqual([]);
    expect(whole.data.equals(Buffer.from(shopper.image.data))).toBe(true);
    const none = frameOf(shopper.image);
    stageWith({ items, compare: null })(none, [shopper.face]);
    expect(columnsEqual(none, shopper.image.data, Math.round(none.width / 2), none.width)).toBe(false);
  });

  it('draws in CATEGORIES order whatever order the selection lists, and reports what it drew', () => {
    const items = look('bridal');
    const calls: Category[] = [];
    const recording = new Map([...RENDERERS].map(([c, r]) => [c, { category: c, render: (ctx, item) => (calls.push(c), r.render(ctx, item)) } satisfies CategoryRenderer]));
    const shuffled = [...items].reverse();
    const applied = stageWith({ items: shuffled, compare: null }, recording)(frameOf(shopper.image), [shopper.face]);
    const expected = items.map((i) => i.product.category).sort((a, b) => CATEGORIES.indexOf(a) - CATEGORIES.indexOf(b));
    expect(calls).toEqual(expected.filter((c) => RENDERERS.has(c)));
    expect(new Set(applied)).toEqual(new Set(items.filter((i) => RENDERERS.has(i.product.category)).map((i) => i.product.id)));
  });

  it('nothing chosen: the catalog default is drawn; no face: nothing', () => {
    const stage = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: new CatalogSlot() });
    const frame = frameOf(shopper.image);
    expect(stage(frame, [shopper.face])).toEqual([bundledCatalog().default!.productId]);
    const empty = frameOf(shopper.image);
    expect(stage(empty, [])).toEqual([]);
    expect(empty.data.equals(Buffer.from(shopper.image.data))).toBe(true);
  });

  it('a bystander is never rendered: only faces[0] is made up', async () => {
    // sample6: two women side by side; each meshed in her own window, both in one frame.
    const photo = await readRgb('@vladmandic/face-api/demo/sample6.jpg');
    const detections = (await vision.detector.detect(photo)).slice(0, 2);
    expect(detections).toHaveLength(2);
    const faces: Face[] = [];
    for (const d of detections) {
      const side = d.box.width * 3;
      const window = { x: Math.max(0, d.box.x + d.box.width / 2 - side / 2), y: Math.max(0, d.box.y + d.box.height / 2 - side / 2), width: side, height: side };
      const crop = onlyShopper(cropImage(photo, window), { ...d.box, x: d.box.x - Math.round(window.x), y: d.box.y - Math.round(window.y) });
      const face = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(crop)).faces[0];
      const [ox, oy] = [Math.round(window.x), Math.round(window.y)];
      faces.push({ ...face, landmarks: face.landmarks.map(([x, y, z]): [number, number, number] => [x + ox, y + oy, z]) });
    }
    const frame = frameOf(photo);
    const applied = stageWith({ items: look('evening-glam'), compare: null })(frame, faces);
    expect(applied.length).toBeGreaterThan(3);
    const changedIn = (face: Face) => {
      const box = regionBox(face.landmarks, 'faceOval');
      let changed = 0;
      for (let y = Math.floor(box.y); y < box.y + box.height; y++)
        for (let x = Math.floor(box.x); x < box.x + box.width; x++) {
          const p = (y * frame.width + x) * 3;
          if (frame.data[p] !== photo.data[p] || frame.data[p + 1] !== photo.data[p + 1] || frame.data[p + 2] !== photo.data[p + 2]) changed++;
        }
      return changed;
    };
    expect(changedIn(faces[0])).toBeGreaterThan(1000);
    expect(changedIn(faces[1])).toBe(0);
  });

  it('the per-frame arena leaves no trace: frame after frame the stage draws exactly what a context with buffers of its own draws (in JavaScript, and with the SIMD kernels in fresh memory)', () => {
    // Different looks touch different regions, so each frame's buffers land where another's were.
    const looks = ['evening-glam', 'bridal', 'evening-glam', 'copper-refresh'].map(look);
    let selection: TryOnSelection = { items: looks[0], compare: null };
    const stages = { javascript: createTryOnStage({ selection: () => selection, gate: createOcclusionGate, catalog: new CatalogSlot(), kernels: null }), simd: createTryOnStage({ selection: () => selection, gate: createOcclusionGate, catalog: new CatalogSlot() }) };
    // The reference: every mask and buffer freshly allocated (no arena), or, for the kernels, a new arena in new kernels' memory with room from the start.
    const references = { javascript: (draw: () => void) => draw(), simd: (draw: () => void) => withArena(new FrameArena(new Kernels(), 64 << 20), draw) };
    // The kernels' stage sizes its arena on a first frame (drawn in JavaScript); from the next its kernels run.
    stages.simd(frameOf(shopper.image), [shopper.face]);
    for (const path of ['javascript', 'simd'] as const)
      for (const items of looks) {
        selection = { items, compare: null };
        const staged = frameOf(shopper.image);
        stages[path](staged, [shopper.face]);
        const fresh = frameOf(shopper.image);
        references[path](() => {
          const ctx = createRenderContext(fresh, shopper.face, createOcclusionGate(fresh, shopper.face));
          for (const item of [...items].sort((a, b) => CATEGORIES.indexOf(a.product.category) - CATEGORIES.indexOf(b.product.category)))
            RENDERERS.get(item.product.category)?.render(ctx, item);
        });
        expect(fresh.data.equals(Buffer.from(shopper.image.data))).toBe(false);
        expect(staged.data.equals(fresh.data), `${path}: ${items.map((i) => i.product.category).join(', ')}`).toBe(true);
      }
  });

  it('each stage hands its renderers its own blend buffers (no module-level scratch), the same ones every frame, and paint draws in them', () => {
    const items = look('bridal');
    const seen: PaintScratch[] = [];
    const recording = new Map([...RENDERERS].map(([c, r]) => [c, { category: c, render: (ctx, item) => (seen.push(ctx.paintScratch), r.render(ctx, item)) } satisfies CategoryRenderer]));
    const a = stageWith({ items, compare: null }, recording);
    const b = stageWith({ items, compare: null }, recording);
    a(frameOf(shopper.image), [shopper.face]);
    const fromA = seen.length;
    a(frameOf(shopper.image), [shopper.face]);
    b(frameOf(shopper.image), [shopper.face]);
    expect(fromA).toBeGreaterThan(2);
    const first = seen[0];
    // Stage a: one scratch for all its renderers, frame after frame; stage b: another.
    expect(seen.slice(0, 2 * fromA).every((s) => s === first)).toBe(true);
    expect(seen.slice(2 * fromA).every((s) => s !== first && s === seen[2 * fromA])).toBe(true);
    // The blend grew and used the buffers handed to it (the luminance plane of the largest region painted).
    for (const s of [first, seen[2 * fromA]]) {
      expect(s.lum.length).toBeGreaterThan(100);
      expect(s.lum.some((v) => v > 0)).toBe(true);
    }
  });

  it('a product at intensity 0 (the shopper\'s slider at the bottom) is neither drawn nor reported on the frame', () => {
    // Foundation and concealer at zero strength still "cover" (their gains are all 1): only the stage's own check keeps them off the frame's applied list.
    const items = look('bridal');
    expect(items.some((i) => i.product.category === 'foundation')).toBe(true);
    const frame = frameOf(shopper.image);
    const off = items.map((i) => ({ ...i, intensity: 0 }));
    expect(stageWith({ items: off, compare: null })(frame, [shopper.face])).toEqual([]);
    expect(frame.data.equals(Buffer.from(shopper.image.data))).toBe(true);
    // One product off among the others: the others are drawn and reported, that one is not.
    const foundationOff = items.map((i) => (i.product.category === 'foundation' ? { ...i, intensity: 0 } : i));
    const applied = stageWith({ items: foundationOff, compare: null })(frameOf(shopper.image), [shopper.face]);
    expect(applied.length).toBe(items.length - 1);
    expect(applied).not.toContain(items.find((i) => i.product.category === 'foundation')!.product.id);
  });

  it('every catalog category has its renderer in the registry', () => {
    for (const c of CATEGORIES) expect(RENDERERS.get(c)?.category, c).toBe(c);
  });

  it('segmentation is wanted exactly when a hair colour is selected', () => {
    const hair = look('copper-refresh');
    expect(hair.some((i) => i.product.category === 'hairColour')).toBe(true);
    expect(wantsSegmentation({ items: hair, compare: null })).toBe(true);
    expect(wantsSegmentation({ items: look('bridal'), compare: null })).toBe(false);
    expect(wantsSegmentation(nothingChosen())).toBe(false);
  });
});
