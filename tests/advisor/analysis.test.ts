/**
 * Skin analysis on real photos with the real tracker (device/advisor): the CIELAB conversion
 * against culori, the Monk table, a steady reading over the whole demo clip, and robustness to a
 * side shadow, specular highlights and a beard painted onto a real face.
 */
import { converter } from 'culori';
import { beforeAll, describe, expect, it } from 'vitest';
import { srgbToLab, type Lab } from '../../device/advisor/lab.ts';
import { MONK_SWATCHES, monkFromIta, monkFromLab, itaOf } from '../../device/advisor/monk.ts';
import { readStill } from '../../device/advisor/reading.ts';
import { AdvisorSession } from '../../device/advisor/session.ts';
import { sampleSkin } from '../../device/advisor/skin-sample.ts';
import { COOL_BELOW, hueAngle, undertoneOf, WARM_FROM } from '../../device/advisor/undertone.ts';
import type { AdvisorEventMessage } from '../../device/transport/events.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { regionPolygons } from '../../device/vision/regions.ts';
import { shopperFrom } from '../helpers/tryon.ts';
import { loadVision } from '../helpers/vision.ts';
import { copyImage, decode, demoClipFrames, type Vision } from './support.ts';

const toLab = converter('lab65');

let vision: Vision;
beforeAll(async () => {
  vision = await loadVision();
}, 120_000);

describe('CIELAB and the Monk scale', () => {
  it('undertone: cool below 48°, neutral to 58°, warm from 58° of CIELAB hue (culori lch65), on skin-like colours of every kind', () => {
    const toLch = converter('lch65');
    const seen = new Set<string>();
    // Skin-like colours from pink to golden at three depths, and the published MST orbs.
    const colours = [
      ...[200, 160, 110].flatMap((r) => [0.55, 0.62, 0.7, 0.78, 0.85].flatMap((g) => [0.5, 0.6, 0.7, 0.8, 0.95].map((b) => [r, Math.round(r * g), Math.round(r * g * b)]))),
      ...MONK_SWATCHES.map((s) => [parseInt(s.hex.slice(1, 3), 16), parseInt(s.hex.slice(3, 5), 16), parseInt(s.hex.slice(5, 7), 16)]),
    ];
    for (const [r, g, b] of colours) {
      const lab: Lab = [0, 0, 0];
      srgbToLab(r, g, b, lab);
      // culori's hue runs 0..360°; past 180° (a violet-pink) it is below red, i.e. the coolest.
      const hue = toLch({ mode: 'rgb', r: r / 255, g: g / 255, b: b / 255 }).h ?? 0;
      const h = hue > 180 ? hue - 360 : hue;
      const expected = h < COOL_BELOW ? 'cool' : h < WARM_FROM ? 'neutral' : 'warm';
      expect(undertoneOf(lab), `rgb(${r}, ${g}, ${b}) hue ${h.toFixed(1)}°`).toBe(expected);
      seen.add(expected);
    }
    expect([...seen].sort()).toEqual(['cool', 'neutral', 'warm']);
  });

  it('the per-pixel sRGB → CIELAB matches culori (lab65) within 1e-4 on 4096 colours', () => {
    let worst = 0;
    const out: Lab = [0, 0, 0];
    for (let i = 0; i < 4096; i++) {
      const r = (i * 37) % 256;
      const g = (i * 101) % 256;
      const b = (i * 193) % 256;
      srgbToLab(r, g, b, out);
      const ref = toLab({ mode: 'rgb', r: r / 255, g: g / 255, b: b / 255 });
      worst = Math.max(worst, Math.abs(out[0] - ref.l), Math.abs(out[1] - ref.a), Math.abs(out[2] - ref.b));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('each published MST swatch reads as its own level; ITA° falls monotonically (the mapping table)', () => {
    for (const s of MONK_SWATCHES) {
      expect(monkFromLab(s.lab)).toBe(s.monk);
      console.log(`MST ${s.monk} ${s.hex} L* ${s.lab[0].toFixed(1)} a* ${s.lab[1].toFixed(1)} b* ${s.lab[2].toFixed(1)} ITA ${s.ita.toFixed(1)}°`);
    }
    for (let i = 1; i < MONK_SWATCHES.length; i++) expect(MONK_SWATCHES[i].ita).toBeLessThan(MONK_SWATCHES[i - 1].ita);
    expect(monkFromIta(90)).toBe(1);
    expect(monkFromIta(-90)).toBe(10);
  });
});

describe('the demo clip through the advisor session (real tracker, every frame analysed)', () => {
  it('sends one reading, and its tone and undertone hold on every frame after it', async () => {
    const catalog = bundledCatalog();
    const sent: AdvisorEventMessage[] = [];
    const session = new AdvisorSession({
      everyFrames: 1,
      settleMs: 1000,
      leaveMs: 1500,
      catalog: () => catalog,
      trends: () => ({ artifact: null, storeId: 'demo-store', minSessions: 20 }),
      emit: (m) => sent.push(m),
    });
    const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
    const still: Record<string, number> = {};
    let framesAfterFirst = 0;
    const files = demoClipFrames();
    for (const [i, file] of files.entries()) {
      const image = await decode(file);
      const at = i * (1000 / 30);
      const { faces } = await tracker.process({ ...image, capturedAt: at });
      expect(faces.length, `face on ${file}`).toBe(1);
      session.observe(image, faces, at);
      const one = readStill(image, faces[0])!;
      still[`MST ${one.monk} ${one.undertone}`] = (still[`MST ${one.monk} ${one.undertone}`] ?? 0) + 1;
      if (session.current) {
        framesAfterFirst++;
        expect(session.current.monk).toBe(sent[0]!.monk);
        expect(session.current.undertone).toBe(sent[0]!.undertone);
      }
    }
    console.log(`demo clip: sent ${JSON.stringify(sent[0])}; single-frame readings ${JSON.stringify(still)}`);
    expect(sent).toHaveLength(1);
    expect(framesAfterFirst).toBeGreaterThan(files.length - 35);
  }, 600_000);
});

/** Paints over `image` where `region` of the face lies, pixel by pixel. */
function paintRegion(image: RgbImage, polygons: Array<Array<[number, number]>>, paint: (x: number, y: number, o: number) => void): void {
  const xs = polygons.flat().map((p) => p[0]);
  const ys = polygons.flat().map((p) => p[1]);
  for (let y = Math.floor(Math.min(...ys)); y <= Math.ceil(Math.max(...ys)); y++)
    for (let x = Math.floor(Math.min(...xs)); x <= Math.ceil(Math.max(...xs)); x++) {
      let odd = false;
      for (const poly of polygons)
        for (let i = 0, j = poly.length - 1; i < poly.length; j = i++)
          if (poly[i][1] > y !== poly[j][1] > y && x < ((poly[j][0] - poly[i][0]) * (y - poly[i][1])) / (poly[j][1] - poly[i][1]) + poly[i][0]) odd = !odd;
      if (odd) paint(x, y, (y * image.width + x) * 3);
    }
}

/** A seeded uniform generator: every run paints the same blobs and hairs. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 4294967296;
}

describe('the skin metrics answer to what they name (painted onto real faces)', () => {
  for (const photo of ['@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg']) {
    it(`${photo.split('/').pop()}: red blotches raise redness, darker under-eyes raise underEye, neither moves the tone`, async () => {
      const { image, face } = await shopperFrom(vision, photo);
      const lm = face.landmarks;
      const clean = sampleSkin(image, face)!;
      const toLinear = (v: number) => (v / 255) ** 2.2;
      const toByte = (v: number) => Math.min(255, Math.round(255 * v ** (1 / 2.2)));

      // Flush: round patches, redder by about 15 a* (more red, less green), over about a third of each cheek.
      const flushed = copyImage(image);
      const rand = seeded(5);
      const radius = Math.max(2, Math.round(Math.hypot(lm[33][0] - lm[263][0], lm[33][1] - lm[263][1]) * 0.08));
      for (const region of ['cheekRight', 'cheekLeft'] as const) {
        const polys = regionPolygons(lm, region);
        const pts = polys.flat();
        for (let k = 0; k < 5; k++) {
          const [cx, cy] = pts[Math.floor(rand() * pts.length)];
          paintRegion(flushed, polys, (x, y, o) => {
            if (Math.hypot(x - cx, y - cy) > radius) return;
            flushed.data[o] = toByte(Math.min(1, toLinear(image.data[o]) * 1.15));
            flushed.data[o + 1] = toByte(toLinear(image.data[o + 1]) * 0.78);
            flushed.data[o + 2] = toByte(toLinear(image.data[o + 2]) * 0.85);
          });
        }
      }
      const red = sampleSkin(flushed, face)!;

      // Tired eyes: the bands under both eyes at 60 % of their light (about 10 L* darker).
      const tired = copyImage(image);
      for (const region of ['underEyeRight', 'underEyeLeft'] as const)
        paintRegion(tired, regionPolygons(lm, region), (_x, _y, o) => {
          for (let c = 0; c < 3; c++) tired.data[o + c] = toByte(toLinear(image.data[o + c]) * 0.6);
        });
      const dark = sampleSkin(tired, face)!;

      console.log(`${photo.split('/').pop()}: redness ${clean.redness.toFixed(3)} -> ${red.redness.toFixed(3)}; underEye ${clean.underEye.toFixed(3)} -> ${dark.underEye.toFixed(3)}`);
      expect(red.redness - clean.redness).toBeGreaterThan(0.05);
      expect(dark.underEye - clean.underEye).toBeGreaterThan(0.2);
      // The under-eye bands are not tone patches: the skin colour is the same.
      expect(dark.lab).toEqual(clean.lab);
      expect(dark.redness).toBe(clean.redness);
    }, 60_000);
  }
});

describe('robust to shadows, highlights and beards (painted onto real faces)', () => {
  const PHOTOS = ['@vladmandic/face-api/demo/sample2.jpg', '@vladmandic/face-api/demo/sample6.jpg'];
  for (const photo of PHOTOS) {
    it(`${photo.split('/').pop()}: the tone reading moves less than one MST level`, async () => {
      const shopper = await shopperFrom(vision, photo);
      const { image, face } = shopper;
      const clean = readStill(image, face)!;
      const lm = face.landmarks;

      // A side shadow: the image-left half of the face (left of the nose bridge) at 35 % of its light.
      const shadow = copyImage(image);
      const noseX = lm[168][0];
      for (let y = 0; y < image.height; y++)
        for (let x = 0; x < Math.floor(noseX); x++) {
          const o = (y * image.width + x) * 3;
          for (let c = 0; c < 3; c++) shadow.data[o + c] = Math.round(255 * (0.35 * (image.data[o + c] / 255) ** 2.2) ** (1 / 2.2));
        }

      // Specular highlights: near-white discs covering about a fifth of the forehead and cheeks.
      const shine = copyImage(image);
      const rand = seeded(7);
      const radius = Math.max(2, Math.round(Math.hypot(lm[33][0] - lm[263][0], lm[33][1] - lm[263][1]) * 0.05));
      for (const region of ['forehead', 'cheekRight', 'cheekLeft'] as const) {
        const polys = regionPolygons(lm, region);
        const pts = polys.flat();
        for (let k = 0; k < 6; k++) {
          const p = pts[Math.floor(rand() * pts.length)];
          const q = pts[Math.floor(rand() * pts.length)];
          const cx = (p[0] + q[0]) / 2;
          const cy = (p[1] + q[1]) / 2;
          paintRegion(shine, polys, (x, y, o) => {
            if (Math.hypot(x - cx, y - cy) <= radius) shine.data.fill(252, o, o + 3);
          });
        }
      }

      // A beard: dark brown-grey hairs over the chin and the jaw below the mouth.
      const beard = copyImage(image);
      const hair = seeded(11);
      paintRegion(beard, regionPolygons(lm, 'chin'), (_x, _y, o) => {
        if (hair() < 0.85) {
          const v = 25 + hair() * 30;
          beard.data[o] = v + 8;
          beard.data[o + 1] = v + 4;
          beard.data[o + 2] = v;
        }
      });

      const rows = { clean, shadow: readStill(shadow, face)!, shine: readStill(shine, face)!, beard: readStill(beard, face)! };
      for (const [name, r] of Object.entries(rows)) console.log(`${shopper.name} ${name}: MST ${r.monk} ITA ${r.ita}° ${r.undertone} L*a*b* ${r.lab.join('/')} confidence ${r.confidence}`);
      const beardSample = sampleSkin(beard, face)!;
      expect(beardSample.patches.find((p) => p.region === 'chin')!.dropped).not.toBeNull();
      for (const name of ['shadow', 'shine', 'beard'] as const) {
        expect(Math.abs(rows[name].monk - clean.monk), name).toBeLessThanOrEqual(1);
        expect(Math.abs(rows[name].ita - clean.ita), `${name} ITA°`).toBeLessThan(8);
        expect(Math.abs(hueAngle(rows[name].lab) - hueAngle(clean.lab)), `${name} hue`).toBeLessThan(6);
      }
      expect(rows.shine.skin.shine).toBeGreaterThan(clean.skin.shine);
      expect(itaOf(clean.lab)).toBeCloseTo(clean.ita, 0);
    }, 300_000);
  }
});
