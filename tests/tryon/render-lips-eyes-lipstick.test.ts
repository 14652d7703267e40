/**
 * Lipstick (render/lipstick.ts, the renderer the stage calls) on real photos with landmarks from
 * the real tracker: every finish and style renders (PNGs under test-artifacts/tryon/lips-eyes/),
 * every shade field changes the render, the mouth opening stays as it was, gloss shine follows the
 * face's light, and the colour-accuracy figure: every shade at 100 % on a flat neutral patch with a
 * real lip mesh, ΔE2000 to its catalog colour (≤ 2 for matte, satin, sheer; the rest reported).
 */
import { readFileSync } from 'node:fs';
import { differenceCiede2000, formatHex, interpolate } from 'culori';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CATALOG_FILE } from '../../device/tryon/catalog.ts';
import { CatalogV2Schema, FINISHES, type Finish, type Product, type Shade } from '../../device/tryon/catalog/schema.ts';
import { lipstickRenderer } from '../../device/tryon/render/lipstick.ts';
import { regionBox } from '../../device/vision/regions.ts';
import type { CoverageMask } from '../../device/tryon/raster.ts';
import { loadVision } from '../helpers/vision.ts';
import { EVEN_LIGHT, FACE_PICKS, contextFor, frameOf, maxChange, meanDiff, realFace, savePng, type RealFace } from '../helpers/tryon-render.ts';

const deltaE = differenceCiede2000();
const PRODUCT: Product = {
  id: 'test-lipstick',
  brand: 'Test',
  line: 'Line',
  name: 'Lipstick',
  category: 'lipstick',
  sku: 'T-1',
  price: { amount: 1, currency: 'EUR' },
  shades: [],
};
const shade = (over: Partial<Shade> = {}): Shade => ({ id: 's', name: 's', hex: '#b3121f', lab: [38, 60, 38], opacity: 0.85, finish: 'satin', ...over });

let faces: RealFace[];
beforeAll(async () => {
  const vision = await loadVision();
  faces = [];
  for (const pick of FACE_PICKS) faces.push(await realFace(vision, pick));
}, 120_000);

function render(face: RealFace, s: Shade, intensity = 1, image = face.image, light = EVEN_LIGHT) {
  const frame = frameOf(image);
  const ctx = contextFor(frame, face.face, undefined, light);
  const drawn = lipstickRenderer.render(ctx, { product: PRODUCT, shade: s, intensity });
  return { frame, drawn, mask: ctx.mask('lips') as CoverageMask };
}

describe('lipstick on real faces', () => {
  it('renders every finish, each visibly different from the others (PNGs saved)', async () => {
    for (const face of faces) {
      const outs = new Map<Finish, Buffer>();
      for (const finish of FINISHES) {
        const { frame, drawn } = render(face, shade({ finish }));
        expect(drawn).toBe(true);
        outs.set(finish, frame.data);
        await savePng(`lipstick-${face.name}-${finish}`, frame);
      }
      await savePng(`bare-${face.name}`, frameOf(face.image));
      for (const a of FINISHES)
        for (const b of FINISHES) if (a < b) expect(meanDiff(outs.get(a)!, outs.get(b)!), `${face.name}: ${a} vs ${b}`).toBeGreaterThan(0.005);
    }
  });

  it('ombre puts secondHex in the centre fading to hex at the edges; two-tone puts secondHex on the lower lip', async () => {
    const face = faces[0];
    const lm = face.face.landmarks;
    const base = { hex: '#b3121f', opacity: 1, finish: 'matte' as const };
    const at = (frame: { data: Buffer }, x: number, y: number) => {
      const p = (Math.round(y) * face.image.width + Math.round(x)) * 3;
      return formatHex({ mode: 'rgb', r: frame.data[p] / 255, g: frame.data[p + 1] / 255, b: frame.data[p + 2] / 255 });
    };
    // Lower lip, centre (between 14 and 17) and near the corner; upper lip centre (between 0 and 13).
    const lowerCentre = [(lm[14][0] + lm[17][0]) / 2, (lm[14][1] + lm[17][1]) / 2] as const;
    const upperCentre = [(lm[0][0] + lm[13][0]) / 2, (lm[0][1] + lm[13][1]) / 2] as const;
    const lowerSide = [(lm[91][0] + lm[88][0]) / 2, (lm[91][1] + lm[88][1]) / 2] as const;
    const ombre = render(face, shade({ ...base, style: { style: 'ombre', secondHex: '#f2c6b4' } })).frame;
    await savePng(`lipstick-${face.name}-ombre`, ombre);
    expect(deltaE(at(ombre, ...lowerCentre), '#f2c6b4')).toBeLessThan(deltaE(at(ombre, ...lowerSide), '#f2c6b4'));
    const twoTone = render(face, shade({ ...base, style: { style: 'twoTone', secondHex: '#f2c6b4' } })).frame;
    await savePng(`lipstick-${face.name}-twoTone`, twoTone);
    expect(deltaE(at(twoTone, ...lowerCentre), '#f2c6b4')).toBeLessThan(deltaE(at(twoTone, ...lowerCentre), '#b3121f'));
    expect(deltaE(at(twoTone, ...upperCentre), '#b3121f')).toBeLessThan(deltaE(at(twoTone, ...upperCentre), '#f2c6b4'));
  });

  it('every field of the shade changes the render: hex, opacity, finish, style, secondHex, and the intensity', () => {
    const face = faces[0];
    const ref = render(face, shade()).frame.data;
    const variants: Record<string, Buffer> = {
      hex: render(face, shade({ hex: '#7b2346' })).frame.data,
      opacity: render(face, shade({ opacity: 0.4 })).frame.data,
      finish: render(face, shade({ finish: 'gloss' })).frame.data,
      ombre: render(face, shade({ style: { style: 'ombre' } })).frame.data,
      twoTone: render(face, shade({ style: { style: 'twoTone' } })).frame.data,
      intensity: render(face, shade(), 0.5).frame.data,
    };
    for (const [field, out] of Object.entries(variants)) expect(meanDiff(out, ref), field).toBeGreaterThan(0.01);
    const a = render(face, shade({ style: { style: 'ombre', secondHex: '#f2c6b4' } })).frame.data;
    const b = render(face, shade({ style: { style: 'ombre', secondHex: '#3c1020' } })).frame.data;
    expect(meanDiff(a, b), 'secondHex').toBeGreaterThan(0.01);
    expect(meanDiff(render(face, shade(), 0).frame.data, face.image.data), 'intensity 0 draws nothing').toBe(0);
  });

  it('leaves the open mouth (teeth) as it was', () => {
    const face = faces[3]; // sample5 #1: open mouth, teeth
    const { frame } = render(face, shade({ hex: '#00c000', opacity: 1, finish: 'holographic' }));
    const lm = face.face.landmarks;
    const opening = regionBox(lm, 'mouthOpening');
    expect(opening.height).toBeGreaterThan(3);
    const hole: CoverageMask = {
      rect: { x: Math.round(opening.x + opening.width * 0.3), y: Math.round(opening.y + opening.height * 0.3), width: Math.round(opening.width * 0.4), height: Math.max(1, Math.round(opening.height * 0.4)) },
      alpha: new Float32Array(Math.round(opening.width * 0.4) * Math.max(1, Math.round(opening.height * 0.4))).fill(1),
    };
    expect(maxChange(frame.data, face.image.data, face.image.width, hole)).toBeLessThanOrEqual(1);
  });

  it('gloss shine follows the face’s light: lit from the image left, the added light sits further left than lit from the right', () => {
    const face = faces[0];
    const centroid = (direction: [number, number]) => {
      const frame = frameOf(face.image);
      const satin = frameOf(face.image);
      lipstickRenderer.render(contextFor(frame, face.face, undefined, { ...EVEN_LIGHT, direction }), { product: PRODUCT, shade: shade({ finish: 'gloss' }), intensity: 1 });
      lipstickRenderer.render(contextFor(satin, face.face, undefined, { ...EVEN_LIGHT, direction }), { product: PRODUCT, shade: shade({ finish: 'sheer' }), intensity: 1 });
      let sx = 0;
      let sw = 0;
      for (let i = 0; i < frame.data.length; i += 3) {
        const added = frame.data[i] + frame.data[i + 1] + frame.data[i + 2] - satin.data[i] - satin.data[i + 1] - satin.data[i + 2];
        if (added <= 0) continue;
        sx += ((i / 3) % face.image.width) * added;
        sw += added;
      }
      return sx / sw;
    };
    const left = centroid([-1, 0]);
    const right = centroid([1, 0]);
    console.log(`gloss added-light centroid x: light from left ${left.toFixed(1)}, from right ${right.toFixed(1)}`);
    expect(left).toBeLessThan(right - 1);
  });
});

/** Lipstick shades to measure: the bundled catalog's and a spread typical of real ranges, nude to deep. */
function lipstickShades(): string[] {
  const typical = ['#a4213f', '#b3121f', '#b9737a', '#e0604f', '#7b2346', '#a86a84', '#4e1a3a', '#c0504d', '#d98c8c', '#8e3b46', '#f08080', '#5b1a2a', '#c76b6b', '#e8a0a0', '#9b2d30', '#ff5e7a'];
  const catalog = CatalogV2Schema.parse(JSON.parse(readFileSync(BUNDLED_CATALOG_FILE, 'utf8')));
  const fromCatalog = catalog.products.filter((p) => p.category === 'lipstick').flatMap((p) => p.shades.map((s) => s.hex));
  expect(fromCatalog.length).toBeGreaterThan(5);
  return [...new Set([...fromCatalog, ...typical])];
}

/** Neutral, even light over mid grey (sRGB 128): no highlight above the median. */
const GREY_Y = 0.2158605;
const NEUTRAL_LIGHT = { direction: [0, -1] as [number, number], highlight: GREY_Y, median: GREY_Y };

describe('colour accuracy on a flat neutral patch (a real lip mesh over mid grey)', () => {
  it('every shade at 100 %: within ΔE2000 2 of its colour for matte, satin and sheer; the other finishes reported', async () => {
    const face = faces[0];
    const grey = { ...face.image, data: new Uint8Array(face.image.data.length).fill(128) };
    const hexes = lipstickShades();
    const table: string[] = [];
    for (const finish of FINISHES) {
      const errors: number[] = [];
      for (const hex of hexes) {
        const { frame, mask } = render(face, shade({ hex, opacity: 1, finish }), 1, grey, NEUTRAL_LIGHT);
        // The interior of the lips (full coverage), mean colour in linear light.
        const { rect, alpha } = mask;
        let n = 0;
        const sum = [0, 0, 0];
        let worst = 0;
        for (let y = 0; y < rect.height; y++)
          for (let x = 0; x < rect.width; x++) {
            if (alpha[y * rect.width + x] < 0.999) continue;
            const p = ((rect.y + y) * frame.width + rect.x + x) * 3;
            const px = { mode: 'rgb' as const, r: frame.data[p] / 255, g: frame.data[p + 1] / 255, b: frame.data[p + 2] / 255 };
            worst = Math.max(worst, deltaE(px, hex));
            for (let c = 0; c < 3; c++) sum[c] += frame.data[p + c];
            n++;
          }
        expect(n, 'interior pixels').toBeGreaterThan(50);
        const mean = formatHex({ mode: 'rgb', r: sum[0] / n / 255, g: sum[1] / n / 255, b: sum[2] / n / 255 });
        errors.push(deltaE(mean, hex));
        if (finish === 'matte' || finish === 'satin' || finish === 'sheer') expect(deltaE(mean, hex), `${finish} ${hex}`).toBeLessThanOrEqual(2);
        if (finish === 'matte') expect(worst, `matte ${hex}: every interior pixel`).toBeLessThanOrEqual(2);
      }
      table.push(`${finish.padEnd(12)} mean ΔE2000 ${(errors.reduce((a, b) => a + b, 0) / errors.length).toFixed(2)}  max ${Math.max(...errors).toFixed(2)}`);
    }
    console.log(`colour accuracy, ${hexes.length} lipstick shades at 100 % on mid grey (lip interior mean vs catalog colour):\n${table.join('\n')}`);
  });

  it('a shade’s opacity mixes it with the surface in linear light (culori lrgb), within ΔE2000 1', () => {
    const face = faces[0];
    const grey = { ...face.image, data: new Uint8Array(face.image.data.length).fill(128) };
    for (const opacity of [0.35, 0.6, 0.85]) {
      const { frame, mask } = render(face, shade({ hex: '#a4213f', opacity, finish: 'matte' }), 1, grey, NEUTRAL_LIGHT);
      const i = mask.alpha.findIndex((a) => a >= 0.999);
      const p = ((mask.rect.y + Math.floor(i / mask.rect.width)) * frame.width + mask.rect.x + (i % mask.rect.width)) * 3;
      const got = { mode: 'rgb' as const, r: frame.data[p] / 255, g: frame.data[p + 1] / 255, b: frame.data[p + 2] / 255 };
      expect(deltaE(got, interpolate(['#808080', '#a4213f'], 'lrgb')(opacity)), `opacity ${opacity}`).toBeLessThanOrEqual(1);
    }
  });
});
