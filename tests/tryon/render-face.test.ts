/**
 * The face renderers (foundation, concealer, contour, bronzer, blush, highlighter) with every shade
 * the demo catalog sells, on real photos with their real mesh, through the context the stage builds
 * (occlusion gate, cached masks, light). Checked on the masks the renderer really asked the context
 * for: every pixel it changed lies under one of them, and it changed a fair share of them.
 * Foundation keeps the skin's texture (high-frequency energy) while evening its colour (CIELAB a/b
 * variance, culori), more so at full coverage than sheer; on a flat patch at full coverage it lays
 * the shade itself (ΔE2000, culori). The light estimate follows the face's own light (a mirrored
 * photo mirrors its direction). PNGs of every render under test-artifacts/tryon/.
 */
import { converter, differenceCiede2000 } from 'culori';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../device/core/frame.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import type { Category } from '../../device/tryon/catalog/schema.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import { estimateLight } from '../../device/tryon/render/light.ts';
import { HIGHLIGHTER_PLACEMENTS } from '../../device/tryon/render/highlighter.ts';
import { MATERIALS } from '../../device/tryon/render/material.ts';
import { blendOnGrid } from '../../device/tryon/render/face-layers.ts';
import { RENDERERS } from '../../device/tryon/render/registry.ts';
import { hexToLinear } from '../../device/tryon/colour.ts';
import type { AppliedProduct, RenderContext } from '../../device/tryon/render/renderer.ts';
import type { CoverageMask } from '../../device/tryon/raster.ts';
import { regionMask } from '../../device/tryon/region-masks.ts';
import { EYE_LEFT, EYE_RIGHT, interOcular } from '../../device/vision/regions.ts';
import { loadVision } from '../helpers/vision.ts';
import { frameOf, product, savePng, shopperFrom, type Shopper } from '../helpers/tryon.ts';

const FACE_CATEGORIES: Category[] = ['foundation', 'concealer', 'contour', 'bronzer', 'blush', 'highlighter'];
const PHOTOS = ['@vladmandic/face-api/demo/sample4.jpg', '@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg'];
const toLab = converter('lab65');
const deltaE = differenceCiede2000();

let shoppers: Shopper[];
beforeAll(async () => {
  const vision = await loadVision();
  shoppers = [];
  for (const p of PHOTOS) shoppers.push(await shopperFrom(vision, p));
});

/** The context the stage builds, with a record of the masks the renderer asked for. */
function recordingContext(frame: Frame, shopper: Shopper): { ctx: RenderContext; used: Map<string, CoverageMask> } {
  const real = createRenderContext(frame, shopper.face, createOcclusionGate(frame, shopper.face));
  // Keyed by region name or face-shape zone key (blush, contour, bronzer: render/shape-placement.ts).
  const used = new Map<string, CoverageMask>();
  const ctx: RenderContext = {
    ...real,
    mask(region) {
      const m = real.mask(region);
      if (m) used.set(typeof region === 'string' ? region : region.key, m);
      return m;
    },
  };
  return { ctx, used };
}

function coverageAt(masks: Iterable<CoverageMask>, x: number, y: number): number {
  let c = 0;
  for (const { rect, alpha } of masks) {
    const mx = x - rect.x;
    const my = y - rect.y;
    if (mx >= 0 && my >= 0 && mx < rect.width && my < rect.height) c = Math.max(c, alpha[my * rect.width + mx]);
  }
  return c;
}

function catalogShades(category: Category): AppliedProduct[] {
  return bundledCatalog()
    .products.filter((p) => p.category === category)
    .flatMap((p) => p.shades.map((shade) => ({ product: p, shade, intensity: 1 })));
}

describe('the face products\' masks on real meshes', () => {
  it('fade to exactly 0 on their rect\'s border (a mask cut off above 0 shows its box as a step)', () => {
    for (const shopper of shoppers) {
      const frame = frameOf(shopper.image);
      const { ctx, used } = recordingContext(frame, shopper);
      for (const category of FACE_CATEGORIES) RENDERERS.get(category)!.render(ctx, catalogShades(category)[0]);
      expect(used.size).toBeGreaterThan(8);
      for (const [key, { rect, alpha }] of used) {
        let edge = 0;
        for (let x = 0; x < rect.width; x++) edge = Math.max(edge, alpha[x], alpha[(rect.height - 1) * rect.width + x]);
        for (let y = 0; y < rect.height; y++) edge = Math.max(edge, alpha[y * rect.width], alpha[y * rect.width + rect.width - 1]);
        expect(edge, `${shopper.name} ${key}`).toBe(0);
      }
    }
  });
});

describe('face renderers on real faces, every catalog shade', () => {
  for (const category of FACE_CATEGORIES) {
    it(`${category}: draws only under the masks it used, and visibly under them`, async () => {
      const shades = catalogShades(category);
      expect(shades.length).toBeGreaterThan(2);
      for (const shopper of shoppers)
        for (const item of shades) {
          const frame = frameOf(shopper.image);
          const { ctx, used } = recordingContext(frame, shopper);
          expect(RENDERERS.get(category)!.render(ctx, item), `${shopper.name} ${item.shade.id}`).toBe(true);
          let changed = 0;
          let outside = 0;
          let covered = 0;
          for (let y = 0; y < frame.height; y++)
            for (let x = 0; x < frame.width; x++) {
              const p = (y * frame.width + x) * 3;
              const diff = Math.abs(frame.data[p] - shopper.image.data[p]) + Math.abs(frame.data[p + 1] - shopper.image.data[p + 1]) + Math.abs(frame.data[p + 2] - shopper.image.data[p + 2]);
              const c = coverageAt(used.values(), x, y);
              if (c > 0.5) covered++;
              if (diff === 0) continue;
              changed++;
              if (c <= 0.003) outside++;
            }
          expect(outside, `${shopper.name} ${item.product.id}/${item.shade.id}: changed pixels outside its masks`).toBe(0);
          expect(changed, `${shopper.name} ${item.product.id}/${item.shade.id}`).toBeGreaterThan(covered * 0.5);
          if (shopper === shoppers[0] || item === shades[0]) await savePng(`face-${category}-${item.product.id}-${item.shade.id}-${shopper.name}`, frame);
        }
    });
  }
});

/** Luminance (8-bit luma) of the frame, and its high-pass (pixel − 3x3 mean) energy and Lab a/b variance under the mask's full-coverage pixels. */
function skinStats(frame: { width: number; data: Uint8Array }, mask: CoverageMask): { hf: number; abVar: number; n: number } {
  const { rect, alpha } = mask;
  const luma = (x: number, y: number) => {
    const p = (y * frame.width + x) * 3;
    return 0.299 * frame.data[p] + 0.587 * frame.data[p + 1] + 0.114 * frame.data[p + 2];
  };
  let hf = 0;
  let n = 0;
  const as: number[] = [];
  const bs: number[] = [];
  for (let my = 1; my < rect.height - 1; my++)
    for (let mx = 1; mx < rect.width - 1; mx++) {
      if (alpha[my * rect.width + mx] < 0.99) continue;
      const x = rect.x + mx;
      const y = rect.y + my;
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += luma(x + dx, y + dy);
      const h = luma(x, y) - sum / 9;
      hf += h * h;
      n++;
      if (mx % 3 === 0 && my % 3 === 0) {
        const p = (y * frame.width + x) * 3;
        const lab = toLab({ mode: 'rgb', r: frame.data[p] / 255, g: frame.data[p + 1] / 255, b: frame.data[p + 2] / 255 });
        as.push(lab.a);
        bs.push(lab.b);
      }
    }
  const variance = (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length;
  };
  return { hf: hf / n, abVar: variance(as) + variance(bs), n };
}

describe('foundation', () => {
  it('leaves the eyes, lips and brows out (the gated faceSkin mask it paints through)', () => {
    for (const shopper of shoppers) {
      const frame = frameOf(shopper.image);
      const mask = createRenderContext(frame, shopper.face, createOcclusionGate(frame, shopper.face)).mask('faceSkin')!;
      const lm = shopper.face.landmarks;
      const centre = (indices: readonly number[]): [number, number] => [indices.reduce((s, i) => s + lm[i][0], 0) / indices.length, indices.reduce((s, i) => s + lm[i][1], 0) / indices.length];
      // Eye centres (lash-line loops), the lips' middle band, a brow. (The nostril hole is
      // small and only partly cuts on turned faces: not asserted.)
      for (const [what, pt] of [
        ['right eye', centre(EYE_RIGHT)],
        ['left eye', centre(EYE_LEFT)],
        ['upper lip', centre([0, 13])],
        ['lower lip', centre([17, 14])],
        ['right brow', centre([105, 52])],
      ] as const)
        expect(coverageAt([mask], Math.round(pt[0]), Math.round(pt[1])), `${shopper.name} ${what}`).toBeLessThan(0.1);
    }
  });

  it('keeps pores and texture (high-frequency energy) while evening colour, more at full coverage than sheer', async () => {
    for (const shopper of shoppers) {
      const bare = frameOf(shopper.image);
      const mask = createRenderContext(bare, shopper.face, createOcclusionGate(bare, shopper.face)).mask('faceSkin')!;
      const before = skinStats(shopper.image, mask);
      const results: Record<string, ReturnType<typeof skinStats>> = {};
      for (const coverage of [0.25, 1]) {
        const frame = frameOf(shopper.image);
        const item = product('foundation', '#c99a7c', 'satin', { opacity: 0.8, style: { coverage } });
        RENDERERS.get('foundation')!.render(createRenderContext(frame, shopper.face, createOcclusionGate(frame, shopper.face)), item);
        results[coverage] = skinStats(frame, mask);
        await savePng(`foundation-coverage-${coverage}-${shopper.name}`, frame);
      }
      const [sheer, full] = [results[0.25], results[1]];
      console.log(
        `${shopper.name}: ${before.n} px; HF energy ${before.hf.toFixed(2)} → sheer ${sheer.hf.toFixed(2)}, full ${full.hf.toFixed(2)}; a/b variance ${before.abVar.toFixed(2)} → sheer ${sheer.abVar.toFixed(2)}, full ${full.abVar.toFixed(2)}`,
      );
      expect(before.n).toBeGreaterThan(2000);
      // Texture within 25 % of the input's at every coverage.
      for (const r of [sheer, full]) expect(Math.abs(r.hf / before.hf - 1)).toBeLessThan(0.25);
      // Colour evened: full coverage at most 60 % of the input's a/b variance, and below sheer.
      expect(full.abVar).toBeLessThan(before.abVar * 0.6);
      expect(full.abVar).toBeLessThan(sheer.abVar);
      expect(sheer.abVar).toBeLessThan(before.abVar);
    }
  });

  it('the shopper\'s intensity scales the evening, not only the colour: 25 % intensity evens less than the same colour strength from a 25 % opacity', () => {
    for (const shopper of shoppers) {
      const bare = frameOf(shopper.image);
      const mask = createRenderContext(bare, shopper.face, createOcclusionGate(bare, shopper.face)).mask('faceSkin')!;
      const before = skinStats(shopper.image, mask);
      /** Share of the skin's a/b variance left by a full-coverage foundation. */
      const kept = (opacity: number, intensity: number) => {
        const frame = frameOf(shopper.image);
        const item = product('foundation', '#c99a7c', 'satin', { opacity, style: { coverage: 1 }, intensity });
        RENDERERS.get('foundation')!.render(createRenderContext(frame, shopper.face, createOcclusionGate(frame, shopper.face)), item);
        return skinStats(frame, mask).abVar / before.abVar;
      };
      // Same colour strength (opacity × intensity 0.2) in the last two: only the evening tells them apart.
      const full = kept(0.8, 1);
      const lowIntensity = kept(0.8, 0.25);
      const lowOpacity = kept(0.2, 1);
      console.log(`${shopper.name}: a/b variance kept: full ${full.toFixed(2)}, intensity 0.25 ${lowIntensity.toFixed(2)}, opacity 0.2 at full intensity ${lowOpacity.toFixed(2)}`);
      expect(full).toBeLessThan(0.6);
      expect(lowIntensity).toBeGreaterThan(full + 0.2);
      expect(lowIntensity).toBeGreaterThan(lowOpacity + 0.05);
    }
  });

  it('on a flat, evenly lit patch at full coverage and opacity it lays the shade itself (ΔE2000 ≤ 2, culori)', () => {
    const shopper = shoppers[0];
    const flat = { width: shopper.image.width, height: shopper.image.height, data: new Uint8Array(shopper.image.data.length) };
    for (let i = 0; i < flat.data.length; i += 3) flat.data.set([186, 140, 118], i);
    for (const hex of ['#f1d3bd', '#c99a7c', '#8d5a3f', '#5a3626']) {
      const frame = frameOf(flat);
      const item = product('foundation', hex, 'satin', { opacity: 1, style: { coverage: 1 } });
      // Gate: none on a synthetic patch (no mouth, no eyes to protect): the mask alone.
      const ctx = createRenderContext(frame, shopper.face, { apply: () => {} });
      RENDERERS.get('foundation')!.render(ctx, item);
      const mask = regionMask(shopper.face.landmarks, 'faceSkin', frame)!;
      let worst = 0;
      for (let i = 0; i < mask.alpha.length; i += 7) {
        if (mask.alpha[i] < 0.999) continue;
        const x = mask.rect.x + (i % mask.rect.width);
        const y = mask.rect.y + Math.floor(i / mask.rect.width);
        const p = (y * frame.width + x) * 3;
        worst = Math.max(worst, deltaE(hex, { mode: 'rgb', r: frame.data[p] / 255, g: frame.data[p + 1] / 255, b: frame.data[p + 2] / 255 }));
      }
      expect(worst, hex).toBeLessThanOrEqual(2);
    }
  });
});

describe('light estimate', () => {
  it('follows the face: a mirrored photo mirrors the light direction; highlight above median', () => {
    for (const shopper of shoppers) {
      const frame = frameOf(shopper.image);
      const light = estimateLight(frame, shopper.face.landmarks);
      const w = frame.width;
      const mirrored = Buffer.alloc(frame.data.length);
      for (let y = 0; y < frame.height; y++)
        for (let x = 0; x < w; x++) frame.data.copy(mirrored, (y * w + (w - 1 - x)) * 3, (y * w + x) * 3, (y * w + x) * 3 + 3);
      const lm = shopper.face.landmarks.map(([x, y, z]): [number, number, number] => [w - 1 - x, y, z]);
      const flipped = estimateLight({ ...frame, data: mirrored }, lm);
      console.log(`${shopper.name}: direction ${light.direction.map((v) => v.toFixed(2))}, mirrored ${flipped.direction.map((v) => v.toFixed(2))}, median ${light.median.toFixed(3)}, highlight ${light.highlight.toFixed(3)}`);
      expect(light.highlight).toBeGreaterThan(light.median);
      expect(Math.hypot(...light.direction)).toBeCloseTo(1, 5);
      expect(flipped.direction[0]).toBeCloseTo(-light.direction[0], 1);
      expect(flipped.direction[1]).toBeCloseTo(light.direction[1], 1);
      expect(flipped.median).toBeCloseTo(light.median, 2);
    }
  });

  it('a face lit from its left reads light from the left', () => {
    const shopper = shoppers[0];
    const frame = frameOf(shopper.image);
    const skin = regionMask(shopper.face.landmarks, 'faceSkin', frame)!;
    const cx = skin.rect.x + skin.rect.width / 2;
    // Darken the right half of the face (image right) by a third: the key light is on the left.
    for (let y = 0; y < frame.height; y++)
      for (let x = Math.ceil(cx); x < frame.width; x++) for (let c = 0; c < 3; c++) frame.data[(y * frame.width + x) * 3 + c] *= 0.66;
    const before = estimateLight(frameOf(shopper.image), shopper.face.landmarks);
    const light = estimateLight(frame, shopper.face.landmarks);
    // sample4 is lit from the image right; with its right half a third darker the light reads from the left.
    expect(before.direction[0]).toBeGreaterThan(0.5);
    expect(light.direction[0]).toBeLessThan(-0.5);
  });
});

describe('face products with glitter (issue 15: sparkle anchored to the mesh)', () => {
  it('highlighter in shimmer/holographic adds glints on top of its blend (satin none); the glints ride with the face (shifted photo and mesh: same added light, shifted)', () => {
    const shopper = shoppers[0];
    const { width, height } = shopper.image;
    /** The photo and its mesh moved (dx, dy) px; the renderer's output, and its blend's alone (face-layers.ts blendOnGrid over the same gated masks). */
    const render = (finish: 'satin' | 'shimmer' | 'holographic', dx = 0, dy = 0) => {
      const moved = Buffer.alloc(shopper.image.data.length);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const s = (Math.min(height - 1, Math.max(0, y - dy)) * width + Math.min(width - 1, Math.max(0, x - dx))) * 3;
          moved.set(shopper.image.data.subarray(s, s + 3), (y * width + x) * 3);
        }
      const face = { ...shopper.face, landmarks: shopper.face.landmarks.map(([x, y, z]): [number, number, number] => [x + dx, y + dy, z]) };
      const item = product('highlighter', '#f5e9e1', finish, { opacity: 0.6 });
      const frame = frameOf({ width, height, data: moved });
      RENDERERS.get('highlighter')!.render(createRenderContext(frame, face, createOcclusionGate(frame, face)), item);
      const blend = frameOf({ width, height, data: moved });
      const ctx = createRenderContext(blend, face, createOcclusionGate(blend, face));
      for (const { region, weight } of HIGHLIGHTER_PLACEMENTS) {
        const mask = ctx.mask(region);
        if (mask) blendOnGrid(blend, mask, { colour: hexToLinear(item.shade.hex), strength: 0.6 * weight, material: MATERIALS[finish] }, ctx.light, interOcular(face.landmarks));
      }
      return { before: moved, frame, blend };
    };
    /** Pixels the renderer made brighter than the blend alone by more than 2 levels (the glints). */
    const glints = (r: ReturnType<typeof render>) => {
      let n = 0;
      for (let i = 0; i < r.frame.data.length; i += 3) if (r.frame.data[i] + r.frame.data[i + 1] + r.frame.data[i + 2] > r.blend.data[i] + r.blend.data[i + 1] + r.blend.data[i + 2] + 6) n++;
      return n;
    };
    const n = { satin: glints(render('satin')), shimmer: glints(render('shimmer')), holographic: glints(render('holographic')) };
    // Anchored: the same face 9 px right and 5 px down gets the same added light, 9 px right and 5 px down.
    const [dx, dy] = [9, 5];
    const still = render('shimmer');
    const moved = render('shimmer', dx, dy);
    let worst = 0;
    let compared = 0;
    for (let y = 20; y < height - 20; y++)
      for (let x = 20; x < width - 20; x++) {
        const p = (y * width + x) * 3;
        const q = ((y + dy) * width + x + dx) * 3;
        for (let c = 0; c < 3; c++) {
          const a = still.frame.data[p + c] - still.blend.data[p + c];
          const b = moved.frame.data[q + c] - moved.blend.data[q + c];
          if (a !== 0 || b !== 0) compared++;
          worst = Math.max(worst, Math.abs(a - b));
        }
      }
    console.log(`highlighter glint pixels: satin ${n.satin}, shimmer ${n.shimmer}, holographic ${n.holographic}; face shifted (9, 5) px: ${compared} glint channel values compared, worst difference ${worst} levels`);
    expect(n.satin).toBe(0);
    expect(n.shimmer).toBeGreaterThan(10);
    expect(n.holographic).toBeGreaterThan(10);
    expect(compared).toBeGreaterThan(30);
    expect(worst).toBeLessThanOrEqual(3);
  });

  it('the glints sit on the face\'s own surface, not in the mask\'s box: a mirrored photo and mesh get the same glints, mirrored', () => {
    const shopper = shoppers[0];
    const { width, height } = shopper.image;
    /** Pixels where the shimmer highlighter adds light beyond its blend alone (the glints), in the photo's own (unmirrored) columns. */
    const glintPixels = (mirror: boolean): Set<number> => {
      const data = Buffer.alloc(shopper.image.data.length);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const s = (y * width + (mirror ? width - 1 - x : x)) * 3;
          data.set(shopper.image.data.subarray(s, s + 3), (y * width + x) * 3);
        }
      const face = { ...shopper.face, landmarks: shopper.face.landmarks.map(([x, y, z]): [number, number, number] => [mirror ? width - x : x, y, z]) };
      const item = product('highlighter', '#f5e9e1', 'shimmer', { opacity: 0.6 });
      const frame = frameOf({ width, height, data: Buffer.from(data) });
      RENDERERS.get('highlighter')!.render(createRenderContext(frame, face, createOcclusionGate(frame, face)), item);
      const blend = frameOf({ width, height, data: Buffer.from(data) });
      const ctx = createRenderContext(blend, face, createOcclusionGate(blend, face));
      for (const { region, weight } of HIGHLIGHTER_PLACEMENTS) {
        const mask = ctx.mask(region);
        if (mask) blendOnGrid(blend, mask, { colour: hexToLinear(item.shade.hex), strength: 0.6 * weight, material: MATERIALS.shimmer }, ctx.light, interOcular(face.landmarks));
      }
      const out = new Set<number>();
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 3;
          if (frame.data[i] + frame.data[i + 1] + frame.data[i + 2] > blend.data[i] + blend.data[i + 1] + blend.data[i + 2] + 6) out.add(y * width + (mirror ? width - 1 - x : x));
        }
      return out;
    };
    const plain = glintPixels(false);
    const mirrored = glintPixels(true);
    let both = 0;
    for (const i of plain) if (mirrored.has(i)) both++;
    const union = plain.size + mirrored.size - both;
    console.log(`highlighter glint pixels: ${plain.size} on the photo, ${mirrored.size} on its mirror image, ${both} at the same place on the face`);
    expect(plain.size).toBeGreaterThan(10);
    expect(both / union).toBeGreaterThan(0.8);
  });
});
