/**
 * Eyeshadow, eyeliner, mascara, brows and lip liner (the renderers the stage calls) on real photos
 * with landmarks from the real tracker: each renders (PNGs under test-artifacts/tryon/lips-eyes/),
 * every field of the shade and its style changes the render, and nothing reaches the eye opening or
 * the mouth opening even with the gate letting everything through (the renderers cut them out).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Category, Finish, Product, Shade } from '../../device/tryon/catalog/schema.ts';
import { browsRenderer } from '../../device/tryon/render/brows.ts';
import { eyelinerRenderer } from '../../device/tryon/render/eyeliner.ts';
import { eyeshadowRenderer } from '../../device/tryon/render/eyeshadow.ts';
import { lipLinerRenderer } from '../../device/tryon/render/lip-liner.ts';
import { mascaraRenderer } from '../../device/tryon/render/mascara.ts';
import type { CategoryRenderer } from '../../device/tryon/render/renderer.ts';
import { fillPolygons, polygonBounds, type CoverageMask } from '../../device/tryon/raster.ts';
import { regionPolygons, type RegionName } from '../../device/vision/regions.ts';
import { loadVision } from '../helpers/vision.ts';
import { FACE_PICKS, contextFor, frameOf, maxChange, meanDiff, realFace, savePng, type RealFace } from '../helpers/tryon-render.ts';

const product = (category: Category): Product => ({ id: `test-${category}`, brand: 'T', line: 'L', name: 'N', category, sku: 'T-1', price: { amount: 1, currency: 'EUR' }, shades: [] });
const shade = (hex: string, finish: Finish, style: Record<string, unknown>, opacity = 0.9): Shade => ({ id: 's', name: 's', hex, lab: [0, 0, 0], opacity, finish, style });

let faces: RealFace[];
beforeAll(async () => {
  const vision = await loadVision();
  faces = [];
  for (const pick of FACE_PICKS) faces.push(await realFace(vision, pick));
}, 120_000);

function render(face: RealFace, renderer: CategoryRenderer, s: Shade, intensity = 1) {
  const frame = frameOf(face.image);
  const drawn = renderer.render(contextFor(frame, face.face), { product: product(renderer.category), shade: s, intensity });
  return { frame, drawn };
}

/** The inside of a region's loops (no feather), where paint must never land. */
function inside(face: RealFace, region: RegionName): CoverageMask {
  const polys = regionPolygons(face.face.landmarks, region);
  const rect = polygonBounds(polys, 0, face.image)!;
  // Only fully covered pixels: the anti-aliased rim belongs to both sides.
  return { rect, alpha: fillPolygons(polys, rect).map((a) => (a >= 0.999 ? 1 : 0)) };
}

/** Pixels with a channel changed by more than 8 levels. */
function changedPixels(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 3) if (Math.abs(a[i] - b[i]) > 8 || Math.abs(a[i + 1] - b[i + 1]) > 8 || Math.abs(a[i + 2] - b[i + 2]) > 8) n++;
  return n;
}

const CASES: Array<{ name: string; renderer: CategoryRenderer; variants: Record<string, Shade> }> = [
  {
    name: 'eyeshadow',
    renderer: eyeshadowRenderer,
    variants: {
      'lid-matte': shade('#8a5a9c', 'matte', { pattern: 'lid' }),
      'lidCrease-satin': shade('#c08a6a', 'satin', { pattern: 'lidCrease', creaseHex: '#6b3f2a' }),
      'lidCreaseOuter-shimmer': shade('#c9a0dc', 'shimmer', { pattern: 'lidCreaseOuter', creaseHex: '#6a3a7c', outerHex: '#2a1a3c' }),
      'lid-metallic': shade('#b08d57', 'metallic', { pattern: 'lid' }),
      'lid-holographic': shade('#d0c0e0', 'holographic', { pattern: 'lid' }),
    },
  },
  {
    name: 'eyeliner',
    renderer: eyelinerRenderer,
    variants: { thin: shade('#111111', 'matte', { style: 'thin' }), winged: shade('#111111', 'matte', { style: 'winged' }), 'winged-gloss': shade('#1a2a6a', 'gloss', { style: 'winged' }) },
  },
  {
    name: 'mascara',
    renderer: mascaraRenderer,
    variants: { 'volume-0': shade('#0a0a0a', 'matte', { volume: 0 }), 'volume-0.5': shade('#0a0a0a', 'matte', { volume: 0.5 }), 'volume-1': shade('#0a0a0a', 'matte', { volume: 1 }) },
  },
  {
    name: 'brows',
    renderer: browsRenderer,
    variants: { fill: shade('#3b2a20', 'matte', { mode: 'fill' }), tint: shade('#7a4a2a', 'matte', { mode: 'tint' }) },
  },
  {
    name: 'lipLiner',
    renderer: lipLinerRenderer,
    variants: { 'width-0.01': shade('#6a1020', 'matte', { width: 0.01 }), 'width-0.04': shade('#6a1020', 'matte', { width: 0.04 }) },
  },
];

describe('eye, brow and liner renderers on real faces', () => {
  for (const c of CASES)
    it(`${c.name}: every variant renders and differs from the others (PNGs saved)`, async () => {
      for (const face of faces) {
        const outs: Array<[string, Buffer]> = [];
        for (const [variant, s] of Object.entries(c.variants)) {
          const { frame, drawn } = render(face, c.renderer, s);
          expect(drawn, `${face.name} ${variant}`).toBe(true);
          expect(changedPixels(frame.data, face.image.data), `${face.name} ${variant} changes the frame`).toBeGreaterThan(30);
          outs.push([variant, frame.data]);
          await savePng(`${c.name}-${face.name}-${variant}`, frame);
        }
        for (const [a, da] of outs) for (const [b, db] of outs) if (a < b) expect(meanDiff(da, db), `${face.name}: ${a} vs ${b}`).toBeGreaterThan(0.005);
      }
    });

  it('every field changes the render: hex, opacity, finish, intensity, and each style field', () => {
    const face = faces[0];
    const differs = (renderer: CategoryRenderer, a: Shade, b: Shade, label: string, ia = 1, ib = 1) =>
      expect(meanDiff(render(face, renderer, a, ia).frame.data, render(face, renderer, b, ib).frame.data), label).toBeGreaterThan(0.003);
    const eyeshadow = shade('#c9a0dc', 'matte', { pattern: 'lidCreaseOuter', creaseHex: '#6a3a7c', outerHex: '#2a1a3c' });
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, hex: '#a0c0dc' }, 'eyeshadow hex');
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, opacity: 0.4 }, 'eyeshadow opacity');
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, finish: 'metallic' }, 'eyeshadow finish');
    differs(eyeshadowRenderer, eyeshadow, eyeshadow, 'eyeshadow intensity', 1, 0.5);
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, style: { pattern: 'lidCreaseOuter', creaseHex: '#3a6a7c', outerHex: '#2a1a3c' } }, 'creaseHex');
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, style: { pattern: 'lidCreaseOuter', creaseHex: '#6a3a7c', outerHex: '#1a3c2a' } }, 'outerHex');
    differs(eyeshadowRenderer, eyeshadow, { ...eyeshadow, style: { pattern: 'lidCrease', creaseHex: '#6a3a7c' } }, 'pattern');
    // The outer-corner V is lidCreaseOuter's alone: under lidCrease an outerHex changes nothing.
    const crease = shade('#c9a0dc', 'matte', { pattern: 'lidCrease', creaseHex: '#6a3a7c', outerHex: '#2a1a3c' });
    const creaseData = render(face, eyeshadowRenderer, crease).frame.data;
    expect(meanDiff(creaseData, render(face, eyeshadowRenderer, { ...crease, style: { ...crease.style, outerHex: '#f0f060' } }).frame.data), 'lidCrease outerHex').toBe(0);
    const liner = shade('#111111', 'matte', { style: 'winged' });
    differs(eyelinerRenderer, liner, { ...liner, hex: '#5a3a1a' }, 'eyeliner hex');
    differs(eyelinerRenderer, liner, { ...liner, finish: 'metallic' }, 'eyeliner finish');
    differs(eyelinerRenderer, liner, { ...liner, opacity: 0.5 }, 'eyeliner opacity');
    const lashes = shade('#0a0a0a', 'matte', { volume: 0.5 });
    differs(mascaraRenderer, lashes, { ...lashes, hex: '#3a2010' }, 'mascara hex');
    differs(mascaraRenderer, lashes, { ...lashes, opacity: 0.5 }, 'mascara opacity');
    const brow = shade('#3b2a20', 'matte', { mode: 'fill' });
    differs(browsRenderer, brow, { ...brow, hex: '#6a4a30' }, 'brows hex');
    differs(browsRenderer, brow, { ...brow, opacity: 0.5 }, 'brows opacity');
    differs(browsRenderer, brow, { ...brow, finish: 'shimmer', hex: '#3b2a20' }, 'brows finish');
    const lipLiner = shade('#6a1020', 'matte', { width: 0.02 });
    differs(lipLinerRenderer, lipLiner, { ...lipLiner, hex: '#a04050' }, 'lip liner hex');
    differs(lipLinerRenderer, lipLiner, { ...lipLiner, finish: 'gloss' }, 'lip liner finish');
  });

  it('mascara volume darkens more of the lash line the higher it is', () => {
    const face = faces[0];
    const darkened = (volume: number) => {
      const { frame } = render(face, mascaraRenderer, shade('#0a0a0a', 'matte', { volume }));
      let n = 0;
      for (let i = 0; i < frame.data.length; i++) if (face.image.data[i] - frame.data[i] > 20) n++;
      return n;
    };
    const counts = [0, 0.5, 1].map(darkened);
    console.log(`mascara: channel values darkened by > 20 at volume 0, 0.5, 1: ${counts.join(', ')}`);
    expect(counts[1]).toBeGreaterThan(counts[0]);
    expect(counts[2]).toBeGreaterThan(counts[1]);
  });

  it('brow tint recolours the hair and leaves the skin between the hairs; fill also lays colour where the brow is sparse', () => {
    const face = faces[0];
    const brows = contextFor(frameOf(face.image), face.face).mask('brows')!;
    const tint = render(face, browsRenderer, shade('#7a2a10', 'matte', { mode: 'tint' })).frame.data;
    const fill = render(face, browsRenderer, shade('#7a2a10', 'matte', { mode: 'fill' })).frame.data;
    // The brightest tenth of the brow is skin between the hairs: tint keeps it, fill paints it too.
    const { rect, alpha } = brows;
    const lum = (d: Uint8Array, p: number) => d[p] * 0.2126 + d[p + 1] * 0.7152 + d[p + 2] * 0.0722;
    let bright = 0;
    let tintChanged = 0;
    let fillChanged = 0;
    const lums: number[] = [];
    for (let y = 0; y < rect.height; y++) for (let x = 0; x < rect.width; x++) if (alpha[y * rect.width + x] > 0.9) lums.push(lum(face.image.data, ((rect.y + y) * face.image.width + rect.x + x) * 3));
    const skin = [...lums].sort((a, b) => a - b)[Math.floor(lums.length * 0.9)];
    for (let y = 0; y < rect.height; y++)
      for (let x = 0; x < rect.width; x++) {
        if (alpha[y * rect.width + x] <= 0.9) continue;
        const p = ((rect.y + y) * face.image.width + rect.x + x) * 3;
        if (lum(face.image.data, p) < skin) continue;
        bright++;
        if (Math.abs(tint[p] - face.image.data[p]) > 2) tintChanged++;
        if (Math.abs(fill[p] - face.image.data[p]) > 2) fillChanged++;
      }
    console.log(`brow skin pixels: ${bright}; changed by tint ${tintChanged}, by fill ${fillChanged}`);
    expect(bright).toBeGreaterThan(10);
    expect(tintChanged).toBe(0);
    // The darkest tenth is hair: tint recolours it.
    const hairLevel = [...lums].sort((a, b) => a - b)[Math.floor(lums.length * 0.1)];
    let hair = 0;
    let hairChanged = 0;
    for (let y = 0; y < rect.height; y++)
      for (let x = 0; x < rect.width; x++) {
        const p = ((rect.y + y) * face.image.width + rect.x + x) * 3;
        if (alpha[y * rect.width + x] <= 0.9 || lum(face.image.data, p) > hairLevel) continue;
        hair++;
        if (Math.abs(tint[p] - face.image.data[p]) > 2) hairChanged++;
      }
    expect(hairChanged).toBeGreaterThan(hair / 2);
    expect(fillChanged).toBeGreaterThan(bright / 4);
  });

  it('never paints the eye opening or the mouth opening, even with the gate letting everything through', () => {
    for (const face of faces) {
      const eyes = [inside(face, 'eyeRight'), inside(face, 'eyeLeft')];
      const eyeCases: Array<[CategoryRenderer, Shade]> = [
        [eyeshadowRenderer, shade('#00ff00', 'holographic', { pattern: 'lidCreaseOuter' }, 1)],
        [eyelinerRenderer, shade('#00ff00', 'metallic', { style: 'winged' }, 1)],
        [eyelinerRenderer, shade('#00ff00', 'gloss', { style: 'thin' }, 1)],
        [mascaraRenderer, shade('#00ff00', 'shimmer', { volume: 1 }, 1)],
      ];
      for (const [renderer, s] of eyeCases) {
        const { frame } = render(face, renderer, s);
        for (const eye of eyes) expect(maxChange(frame.data, face.image.data, face.image.width, eye), `${face.name} ${renderer.category} ${s.finish}`).toBe(0);
      }
      const { frame } = render(face, lipLinerRenderer, shade('#00ff00', 'gloss', { width: 0.06 }, 1));
      expect(maxChange(frame.data, face.image.data, face.image.width, inside(face, 'mouthOpening')), `${face.name} lip liner`).toBe(0);
    }
  });
});
