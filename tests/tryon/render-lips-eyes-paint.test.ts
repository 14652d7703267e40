/**
 * The shared perceptual blend (render/paint.ts) against culori: its hand-written per-pixel maths
 * (sRGB↔linear tables, luminance, coverage mix) must give what culori's conversions give, a flat
 * patch must come out as the shade itself for every finish's diffuse term, and each material must
 * keep, flatten or deepen the surface's own shading as material.ts says.
 */
import { converter, differenceCiede2000, formatHex, interpolate } from 'culori';
import { describe, expect, it } from 'vitest';
import { hexToLinear } from '../../device/tryon/colour.ts';
import { FINISHES } from '../../device/tryon/catalog/schema.ts';
import { MATERIALS } from '../../device/tryon/render/material.ts';
import { paint, regionStats } from '../../device/tryon/render/paint.ts';
import type { CoverageMask } from '../../device/tryon/raster.ts';
import type { Frame } from '../../device/core/frame.ts';
import { EVEN_LIGHT } from '../helpers/tryon-render.ts';

const deltaE = differenceCiede2000();
const lrgb = converter('lrgb');
const xyz = converter('xyz65');
/** culori's conversions of colours known to parse (hex literals, lrgb objects). */
const toLrgb = (c: string) => lrgb(c)!;
const toXyz = (c: Parameters<typeof xyz>[0]) => xyz(c)!;

const W = 40;
const H = 20;
const hexAt = (f: Frame, i: number) => formatHex({ mode: 'rgb', r: f.data[i * 3] / 255, g: f.data[i * 3 + 1] / 255, b: f.data[i * 3 + 2] / 255 });

/** A flat patch of `hex`; `alt` paints every `every`-th pixel (`every`) or the columns left of `left` (a block) in another colour. */
function patch(hex: string, alt?: { hex: string; every?: number; left?: number }): Frame {
  const data = Buffer.alloc(W * H * 3);
  const toBytes = (h: string) => [1, 3, 5].map((k) => Number.parseInt(h.slice(k, k + 2), 16));
  const a = toBytes(hex);
  const b = alt ? toBytes(alt.hex) : a;
  const isAlt = (i: number) => (alt?.every ? i % alt.every === 0 : alt?.left !== undefined && i % W < alt.left);
  for (let i = 0; i < W * H; i++) data.set(isAlt(i) ? b : a, i * 3);
  return { id: 1, capturedAt: 0, width: W, height: H, format: 'rgb24', data };
}
const fullMask = (): CoverageMask => ({ rect: { x: 0, y: 0, width: W, height: H }, alpha: new Float32Array(W * H).fill(1) });

/** Shades across a lipstick/eyeshadow range, and surfaces from pale to deep skin and lips. */
const SHADES = ['#a4213f', '#b3121f', '#b9737a', '#e0604f', '#7b2346', '#a86a84', '#4e1a3a', '#d8a48f', '#2b1b17', '#c9a0dc', '#3c5a8c', '#f2c6b4'];
const SURFACES = ['#808080', '#f1d3c2', '#c68e6e', '#8d5524', '#4a2c1d', '#b06a6a'];

describe('paint against culori', () => {
  it('a flat patch at full coverage becomes the shade itself (ΔE2000 < 0.5) for every finish, on every surface', () => {
    let worst = 0;
    for (const finish of FINISHES)
      for (const surface of SURFACES)
        for (const shade of SHADES) {
          const frame = patch(surface);
          // Specular off: the diffuse term is the colour contract; the shine is measured on lips elsewhere.
          const material = { ...MATERIALS[finish], specular: 0 };
          expect(paint(frame, fullMask(), { colour: hexToLinear(shade), strength: 1, material }, EVEN_LIGHT)).toBe(true);
          worst = Math.max(worst, deltaE(hexAt(frame, 5), shade));
        }
    console.log(`flat patch, full coverage: worst ΔE2000 to the shade ${worst.toFixed(3)} (${FINISHES.length} finishes × ${SURFACES.length} surfaces × ${SHADES.length} shades)`);
    expect(worst).toBeLessThan(0.5);
  });

  it('partial strength mixes surface and shade in linear light, as culori interpolates in lrgb (within one 8-bit level)', () => {
    for (const strength of [0.2, 0.5, 0.8])
      for (const surface of SURFACES)
        for (const shade of SHADES) {
          const frame = patch(surface);
          paint(frame, fullMask(), { colour: hexToLinear(shade), strength, material: MATERIALS.satin }, { ...EVEN_LIGHT, highlight: 0 });
          const expected = converter('rgb')(interpolate([surface, shade], 'lrgb')(strength));
          const got = [0, 1, 2].map((c) => frame.data[15 * 3 + c]);
          const want = [expected.r, expected.g, expected.b].map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
          for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c]), `${surface} ${shade} @${strength}`).toBeLessThanOrEqual(1);
        }
  });

  it('the region mean the blend keys on is culori’s linear mean and its luminance culori’s Y', () => {
    const frame = patch('#c68e6e', { hex: '#8d5524', every: 3 });
    const stats = regionStats(frame, fullMask());
    const a = toLrgb('#c68e6e');
    const b = toLrgb('#8d5524');
    const n = W * H;
    const k = Math.ceil(n / 3);
    const mean = { mode: 'lrgb' as const, r: (a.r * (n - k) + b.r * k) / n, g: (a.g * (n - k) + b.g * k) / n, b: (a.b * (n - k) + b.b * k) / n };
    expect(stats.r).toBeCloseTo(mean.r, 4);
    expect(stats.g).toBeCloseTo(mean.g, 4);
    expect(stats.b).toBeCloseTo(mean.b, 4);
    expect(stats.y).toBeCloseTo(toXyz(mean).y, 3);
  });

  it('each material shapes the surface’s own shading: shaded/lit luminance follows the material’s detail exponent and highlight flattening', () => {
    // A mid skin with its left quarter in shadow: the shadow is below the region mean, the lit part above it.
    const lit = toXyz('#c68e6e').y;
    const shaded = toXyz('#8a5f48').y;
    const mean = (3 * lit + shaded) / 4;
    const ratios: Record<string, number> = {};
    for (const finish of FINISHES) {
      const m = MATERIALS[finish];
      const frame = patch('#c68e6e', { hex: '#8a5f48', left: W / 4 });
      paint(frame, fullMask(), { colour: hexToLinear('#d8a48f'), strength: 1, material: { ...m, specular: 0, through: 0 } }, EVEN_LIGHT);
      const got = toXyz(hexAt(frame, 5 * W + 3)).y / toXyz(hexAt(frame, 5 * W + 30)).y;
      const want = (shaded / mean) ** m.detail / (1 + (lit / mean - 1) * m.highlights) ** m.detail;
      expect(Math.abs(got / want - 1), `${finish}: shaded/lit ${got.toFixed(3)}, expected ${want.toFixed(3)}`).toBeLessThan(0.03);
      ratios[finish] = got;
    }
    console.log(`shaded/lit luminance: surface ${(shaded / lit).toFixed(3)}, ${Object.entries(ratios).map(([f, r]) => `${f} ${r.toFixed(3)}`).join(', ')}`);
    // Matte flattens (ratio nearer 1 than the surface), metallic deepens.
    expect(ratios.matte).toBeGreaterThan(shaded / lit);
    expect(ratios.metallic).toBeLessThan(ratios.gloss);
  });

  it('sheer lets the surface’s own colour variation (its chroma, not only its shading) through; matte does not', () => {
    const lab = converter('lab65');
    // a*b* distance: the hue/chroma difference between two pixels, lightness left out.
    const chromaDiff = (x: string, y: string) => {
      const [p, q] = [lab(x)!, lab(y)!];
      return Math.hypot(p.a - q.a, p.b - q.b);
    };
    const render = (finish: 'sheer' | 'matte') => {
      const frame = patch('#b06a6a', { hex: '#a5727a', left: W / 2 });
      paint(frame, fullMask(), { colour: hexToLinear('#a86a84'), strength: 1, material: MATERIALS[finish] }, EVEN_LIGHT);
      return chromaDiff(hexAt(frame, 5 * W + 5), hexAt(frame, 5 * W + 35));
    };
    const original = chromaDiff('#b06a6a', '#a5727a');
    console.log(`surface a*b* variation ${original.toFixed(2)}: through sheer ${render('sheer').toFixed(2)}, matte ${render('matte').toFixed(2)}`);
    expect(render('sheer')).toBeGreaterThan(0.4 * original);
    expect(render('matte')).toBeLessThan(0.2 * original);
  });

  it('reach of the neighbourhood means: one bright pixel moves the detail ratio within 1 px (3x3) and the shine within 2 px (5x5), not past them', () => {
    const cx = 20;
    const cy = 10;
    const spiked = () => {
      const f = patch('#806060');
      f.data.fill(255, (cy * W + cx) * 3, (cy * W + cx) * 3 + 3);
      return f;
    };
    /** Largest channel change at (x, y) that the spike makes to `material`'s output (pixel itself excluded). */
    const change = (material: (typeof MATERIALS)[keyof typeof MATERIALS], light: typeof EVEN_LIGHT) => {
      const bare = patch('#806060');
      const spike = spiked();
      for (const f of [bare, spike]) paint(f, fullMask(), { colour: hexToLinear('#a4213f'), strength: 1, material }, light);
      return (x: number, y: number) => Math.max(...[0, 1, 2].map((c) => Math.abs(spike.data[(y * W + x) * 3 + c] - bare.data[(y * W + x) * 3 + c])));
    };
    // Detail (matte: no shine): the 3x3 mean reaches the 8 neighbours; 2 px away only the region mean's tiny shift is left.
    const detail = change(MATERIALS.matte, EVEN_LIGHT);
    for (const [dx, dy] of [[1, 0], [0, 1], [-1, -1], [1, -1]]) expect(detail(cx + dx, cy + dy)).toBeGreaterThanOrEqual(2);
    for (const [dx, dy] of [[2, 0], [0, 2], [-2, 0], [0, -2], [2, 2]]) expect(detail(cx + dx, cy + dy)).toBeLessThanOrEqual(1);
    // Shine (gloss under a key light, lobe centred on the spike): the 5x5 mean reaches 2 px; 3 px away nothing but the mean's shift.
    const shine = change(MATERIALS.gloss, { direction: [0, 0], highlight: 0.6, median: 0.2 });
    for (const [dx, dy] of [[2, 0], [0, 2], [-2, 0], [0, -2], [2, 2], [-2, -2]]) expect(shine(cx + dx, cy + dy)).toBeGreaterThanOrEqual(6);
    for (const [dx, dy] of [[3, 0], [0, 3], [-3, 0], [0, -3], [3, 3]]) expect(shine(cx + dx, cy + dy)).toBeLessThanOrEqual(1);
  });
});
