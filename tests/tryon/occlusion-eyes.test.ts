/**
 * Eyeshadow and eyeliner never land on the eyeball: a strong green shadow and a black winged liner
 * through the daemon's try-on stage (its occlusion gate built before painting) leave the
 * hand-annotated sclera and iris of a real photo as they were: mean ΔE2000 (culori) inside < 1,
 * while the lids are visibly painted (mean ΔE2000 over the eyeshadow region > 5).
 * Annotations: tests/fixtures/occlusion.hand.json `eyes` (its notes say how they were made).
 * On this photo the real mesh's lash lines sit on the lashes, so the regions stop at the lash line
 * by themselves; the second case gives the stage the same photo with the tracker's mesh off by a
 * few pixels, the error the gate exists for (each upper lash-line point moved towards the lower
 * lid's facing point, so the mesh's eye opening is narrower than the real one and shadow and liner
 * reach over the sclera): mean ΔE2000 over the annotated eyeball must stay < 1. Measured at 4 px:
 * 0.42 with the gate (the sclera uncovered by the error 2.2, the iris 5.1: without the iris model,
 * off by default, the iris is gated by the mesh's opening only), 1.15 with the eye gate switched
 * off (gate.ts applyEyeGate; uncovered sclera 26.8): that mutation fails this case. The third case
 * runs the real iris model (vision.iris) on the photo and gives the stage its circles with the same
 * mesh error: the dark eyeball pixels the error exposes read 2.28 with them, 5.09 without (what is
 * left is sclera in the upper lid's shadow beside the iris, not iris: a known limit, README).
 */
import { readFileSync } from 'node:fs';
import { converter } from 'culori';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';
import { loadVision } from '../helpers/vision.ts';
import { bundledCatalog, CatalogSlot, findProduct, findShade } from '../../device/tryon/catalog.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { applyEyeGate } from '../../device/tryon/occlusion/eyes.ts';
import { LabPlane } from '../../device/tryon/occlusion/lab-plane.ts';
import { ramp, sampleModel, type ColourModel } from '../../device/tryon/occlusion/colour-model.ts';
import { boxBlur, fillPolygons, polygonBounds, type MaskRect } from '../../device/tryon/raster.ts';
import { EYE_LEFT, EYE_RIGHT, interOcular, loop } from '../../device/vision/regions.ts';
import { IrisModel, type IrisPair } from '../../device/vision/iris.ts';
import { resolveModel } from '../../models/registry.ts';
import type { AppliedProduct } from '../../device/tryon/render/renderer.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { EYE_LEFT_LOWER, EYE_LEFT_UPPER, EYE_RIGHT_LOWER, EYE_RIGHT_UPPER, regionPolygons } from '../../device/vision/regions.ts';
import type { Face } from '../../device/vision/face.ts';
import { framedShopper, inside, meanDeltaE, shift, type Fixture } from './occlusion-helpers.ts';

const fixture: Fixture = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'occlusion.hand.json'), 'utf8'));

function item(productId: string, shadeId: string): AppliedProduct {
  const product = findProduct(bundledCatalog(), productId)!;
  return { product, shade: findShade(product, shadeId)!, intensity: 1 };
}

/** L* (CIELAB) at or above which an annotated eyeball pixel counts as sclera. */
const SCLERA_L = 60;
const toLab = (c: { mode: 'rgb'; r: number; g: number; b: number }) => converter('lab65')(c);

/** Mesh lash-line error (px) the gate must absorb: the upper lash line this far into the eye, towards the lower lid. */
const MESH_ERROR_PX = 4;

/** `face` with each upper lash-line point (corners kept) moved `px` towards the lower lid's facing point. */
function lashLinesLow(face: Face, px: number): Face {
  const landmarks = face.landmarks.map((p): [number, number, number] => [p[0], p[1], p[2]]);
  for (const [upper, lower] of [
    [EYE_RIGHT_UPPER, EYE_RIGHT_LOWER],
    [EYE_LEFT_UPPER, EYE_LEFT_LOWER],
  ] as const) {
    for (let k = 1; k < upper.length - 1; k++) {
      const [ux, uy] = face.landmarks[upper[k]];
      const [lx, ly] = face.landmarks[lower[k]];
      const d = Math.hypot(lx - ux, ly - uy) || 1;
      const step = Math.min(px, d / 2) / d;
      landmarks[upper[k]] = [ux + (lx - ux) * step, uy + (ly - uy) * step, face.landmarks[upper[k]][2]];
    }
  }
  return { ...face, landmarks };
}

let vision: Awaited<ReturnType<typeof loadVision>>;
beforeAll(async () => {
  vision = await loadVision();
});

describe('eyeshadow and liner never land on the sclera or iris', () => {
  for (const eyes of fixture.eyes) {
    it(`${path.basename(eyes.file)} (${eyes.what}): eyeballs unchanged, lids painted`, async () => {
      const shot = await framedShopper(vision, eyes.file, eyes.faceBox);
      const before = Buffer.from(shot.frame.data);
      const items = [item('atelier-mono-shadow', 'emerald-glint'), item('kora-precision-liner', 'carbon-wing')];
      const stage = createTryOnStage({ selection: () => ({ items, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() });
      expect(stage(shot.frame, shot.faces).sort()).toEqual(['atelier-mono-shadow', 'kora-precision-liner']);
      const eyeball = meanDeltaE(before, shot.frame, shift(eyes.eyeball, shot.origin));
      const lids = meanDeltaE(before, shot.frame, regionPolygons(shot.faces[0].landmarks, 'eyeshadow'));
      console.log(`${path.basename(eyes.file)}: sclera+iris ΔE2000 mean ${eyeball.mean.toFixed(2)} (max ${eyeball.max.toFixed(1)}, ${eyeball.n} px), lids ${lids.mean.toFixed(1)}`);
      expect(eyeball.n).toBeGreaterThan(150);
      expect(lids.mean).toBeGreaterThan(5);
      expect(eyeball.mean).toBeLessThan(1);
    });

    it(`${path.basename(eyes.file)} with the mesh's upper lash lines ${MESH_ERROR_PX} px inside the eyes: the colour gate keeps the eyeballs unchanged`, async () => {
      const shot = await framedShopper(vision, eyes.file, eyes.faceBox);
      const before = Buffer.from(shot.frame.data);
      const face = lashLinesLow(shot.faces[0], MESH_ERROR_PX);
      const items = [item('atelier-mono-shadow', 'emerald-glint'), item('kora-precision-liner', 'carbon-wing')];
      const stage = createTryOnStage({ selection: () => ({ items, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() });
      expect(stage(shot.frame, [face]).sort()).toEqual(['atelier-mono-shadow', 'kora-precision-liner']);
      const eyeball = meanDeltaE(before, shot.frame, shift(eyes.eyeball, shot.origin));
      // The part of the eyeball the shifted mesh no longer calls the eye: what the regions now reach.
      const opening = regionPolygons(face.landmarks, 'eyes');
      const exposed = (also: (x: number, y: number) => boolean) =>
        meanDeltaE(before, shot.frame, shift(eyes.eyeball, shot.origin), (x, y) => !inside(opening, x, y) && also(x, y));
      // Sclera: the annotated eyeball's light pixels (L* ≥ 60 before painting); the rest is iris and pupil.
      const lightness = (x: number, y: number) => {
        const o = (Math.floor(y) * shot.frame.width + Math.floor(x)) * 3;
        return toLab({ mode: 'rgb', r: before[o] / 255, g: before[o + 1] / 255, b: before[o + 2] / 255 }).l;
      };
      const sclera = exposed((x, y) => lightness(x, y) >= SCLERA_L);
      const iris = exposed((x, y) => lightness(x, y) < SCLERA_L);
      console.log(
        `${path.basename(eyes.file)}, mesh lash lines ${MESH_ERROR_PX} px low: whole eyeball ΔE2000 mean ${eyeball.mean.toFixed(2)} (${eyeball.n} px); outside the mesh's opening: sclera ${sclera.mean.toFixed(2)} (max ${sclera.max.toFixed(1)}, ${sclera.n} px), iris ${iris.mean.toFixed(2)} (${iris.n} px, not gated without the iris model)`,
      );
      // The shifted mesh really exposes eyeball to the regions, and the measure holds over the whole of it.
      expect(sclera.n + iris.n).toBeGreaterThan(30);
      expect(eyeball.mean).toBeLessThan(1);
      // The sclera the mesh error exposes is what the colour rule is for (2.2 with it; 24 without it,
      // while the whole eyeball's mean, mostly inside the mesh's opening, still read 0.90).
      expect(sclera.n).toBeGreaterThan(4);
      expect(sclera.mean).toBeLessThan(8);
    });

    it(`${path.basename(eyes.file)} with the same mesh error and the iris model on (vision.iris): the iris circle keeps shadow and liner off the dark eyeball the error exposes`, async () => {
      const shot = await framedShopper(vision, eyes.file, eyes.faceBox);
      // The irises as the tracker attaches them: the real iris model on the frame, from the mesh's eye corners.
      const irisModel = new IrisModel(await vision.runtime.load(await resolveModel('iris')));
      const iris = await irisModel.estimate(shot.frame, shot.faces[0].landmarks);
      const shifted = lashLinesLow(shot.faces[0], MESH_ERROR_PX);
      const opening = regionPolygons(shifted.landmarks, 'eyes');
      const before = Buffer.from(shot.frame.data);
      const lightness = (x: number, y: number) => {
        const o = (Math.floor(y) * shot.frame.width + Math.floor(x)) * 3;
        return toLab({ mode: 'rgb', r: before[o] / 255, g: before[o + 1] / 255, b: before[o + 2] / 255 }).l;
      };
      // The annotated eyeball's dark pixels (iris, pupil, the sclera in the upper lid's shadow) outside the shifted mesh's opening.
      const paintedWith = (face: Face) => {
        const frame = { ...shot.frame, data: Buffer.from(before) };
        const items = [item('atelier-mono-shadow', 'emerald-glint'), item('kora-precision-liner', 'carbon-wing')];
        const stage = createTryOnStage({ selection: () => ({ items, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() });
        expect(stage(frame, [face]).sort()).toEqual(['atelier-mono-shadow', 'kora-precision-liner']);
        return {
          dark: meanDeltaE(before, frame, shift(eyes.eyeball, shot.origin), (x, y) => !inside(opening, x, y) && lightness(x, y) < SCLERA_L),
          eyeball: meanDeltaE(before, frame, shift(eyes.eyeball, shot.origin)),
        };
      };
      const withIris = paintedWith({ ...shifted, iris });
      const without = paintedWith(shifted);
      console.log(
        `${path.basename(eyes.file)}, mesh lash lines ${MESH_ERROR_PX} px low: exposed dark eyeball ΔE2000 mean ${withIris.dark.mean.toFixed(2)} with the iris model (max ${withIris.dark.max.toFixed(1)}, ${withIris.dark.n} px), ${without.dark.mean.toFixed(2)} without; whole eyeball ${withIris.eyeball.mean.toFixed(2)} / ${without.eyeball.mean.toFixed(2)}`,
      );
      expect(withIris.dark.n).toBeGreaterThan(10);
      // Measured 2.28 with the circle, 5.09 without: what is left is sclera in the lid's shadow beside
      // the iris (grey, L* 42-56, 1.2-1.7 iris radii from its centre), neither lighter than the lid
      // skin (the sclera rule) nor inside the circle. The iris itself is unchanged.
      expect(withIris.dark.mean).toBeLessThan(3);
      expect(withIris.dark.mean).toBeLessThan(without.dark.mean / 2);
      expect(withIris.eyeball.mean).toBeLessThan(1);
    });
  }
});

/**
 * The eye gate as it was written first: one box around both openings (eyes.ts now gates each
 * opening in its own box, which must give every pixel the same visibility).
 */
function eyeGateOneBox(lab: LabPlane, lm: Face['landmarks'], lid: ColourModel | null, iris: IrisPair | undefined, rect: MaskRect, vis: Float32Array): void {
  const openings = [loop(lm, EYE_RIGHT), loop(lm, EYE_LEFT)];
  const radius = Math.max(1, Math.round(interOcular(lm) * 0.04));
  const sub = polygonBounds(openings, radius + 2, { width: rect.x + rect.width, height: rect.y + rect.height })!;
  const opening = fillPolygons(openings, sub);
  const near = boxBlur(opening, sub.width, sub.height, radius);
  const circle = new Float32Array(sub.width * sub.height);
  for (const c of iris ? [iris.right, iris.left] : [])
    for (let y = 0; y < sub.height; y++)
      for (let x = 0; x < sub.width; x++) {
        const d = Math.hypot(sub.x + x + 0.5 - c.center[0], sub.y + y + 0.5 - c.center[1]);
        circle[y * sub.width + x] = Math.max(circle[y * sub.width + x], ramp(c.radius * 1.1 + 0.5 - d, 0, 1));
      }
  const lidChroma = lid ? Math.hypot(lid.a, lid.b) : 0;
  const data = lab.data();
  for (let y = 0; y < sub.height; y++)
    for (let x = 0; x < sub.width; x++) {
      const i = y * sub.width + x;
      const v = (sub.y - rect.y + y) * rect.width + sub.x - rect.x + x;
      vis[v] *= 1 - Math.min(1, opening[i]);
      if (near[i] <= 0.02) continue;
      vis[v] *= 1 - circle[i];
      if (!lid || vis[v] === 0) continue;
      const o = lab.offset(sub.x + x, sub.y + y);
      const lighter = ramp(data[o] - lid.L, 6, 14);
      const greyer = 1 - ramp(Math.hypot(data[o + 1], data[o + 2]) / Math.max(1, lidChroma), 0.55, 0.8);
      vis[v] *= 1 - lighter * greyer;
    }
}

describe('the eye gate, each opening in its own box', () => {
  it('gives every pixel of the eye area what one box around both eyes gives it (real photo, mesh off by 4 px, with and without iris circles)', async () => {
    const eyes = fixture.eyes[0];
    const shot = await framedShopper(vision, eyes.file, eyes.faceBox);
    const lm = lashLinesLow(shot.faces[0], MESH_ERROR_PX).landmarks;
    const polys = regionPolygons(lm, 'eyeshadow');
    const rect = polygonBounds([...polys, loop(lm, EYE_RIGHT), loop(lm, EYE_LEFT)], 20, shot.frame)!;
    const lab = new LabPlane(shot.frame, rect);
    const lid = sampleModel(lab, { rect: polygonBounds(polys, 0, shot.frame)!, polys }, { L: 6, a: 3, b: 3 });
    const centre = (idx: readonly number[]) => [idx.reduce((s, i) => s + lm[i][0], 0) / idx.length, idx.reduce((s, i) => s + lm[i][1], 0) / idx.length] as [number, number];
    const radius = interOcular(lm) * 0.1;
    const iris: IrisPair = { right: { center: centre(EYE_RIGHT), radius }, left: { center: centre(EYE_LEFT), radius } };
    for (const withIris of [undefined, iris]) {
      const split = new Float32Array(rect.width * rect.height).fill(1);
      const oneBox = new Float32Array(rect.width * rect.height).fill(1);
      applyEyeGate(lab, lm, lid, withIris, rect, split);
      eyeGateOneBox(lab, lm, lid, withIris, rect, oneBox);
      let gated = 0;
      for (let i = 0; i < split.length; i++) {
        expect(Math.abs(split[i] - oneBox[i]), `pixel ${i}`).toBeLessThanOrEqual(1e-6);
        if (oneBox[i] < 1) gated++;
      }
      // Both eyes are gated: the openings and the sclera band around each.
      expect(gated).toBeGreaterThan(200);
    }
  });
});

describe('the gate holds the eye openings for every region family, not only the eyes', () => {
  // The renderers' own skin and brow regions leave the eyes out (faceSkin cuts them, the cheeks stop
  // below them), so only this test fails when the gate's own eye holes for the other families go
  // (gate.ts `holes(... EYE_RIGHT, EYE_LEFT)`): a highlighter or brow mask reaching too far must
  // still paint no eyeball.
  it('full cheek (skin), brow and lip-family masks over both eyes, gated, are 0 inside the eye openings', async () => {
    const eyes = fixture.eyes[0];
    const shot = await framedShopper(vision, eyes.file, eyes.faceBox);
    const lm = shot.faces[0].landmarks;
    const openings = [loop(lm, EYE_RIGHT), loop(lm, EYE_LEFT)].map((o) => o.map(([x, y]): [number, number] => [x, y]));
    const rect = polygonBounds(openings, 6, shot.frame)!;
    const gate = createOcclusionGate(shot.frame, shot.faces[0]);
    // 1 px inside an opening's outline (a pixel the line crosses is partly lid).
    const deepInside = (x: number, y: number) => inside(openings, x, y) && [[1, 0], [-1, 0], [0, 1], [0, -1]].every(([dx, dy]) => inside(openings, x + dx, y + dy));
    for (const region of ['cheekRight', 'brows', 'lipsOuter'] as const) {
      const mask = { rect, alpha: new Float32Array(rect.width * rect.height).fill(1) };
      gate.apply(region, mask);
      let n = 0;
      let painted = 0;
      for (let y = 0; y < rect.height; y++)
        for (let x = 0; x < rect.width; x++) {
          if (!deepInside(rect.x + x + 0.5, rect.y + y + 0.5)) continue;
          n++;
          if (mask.alpha[y * rect.width + x] > 0) painted++;
        }
      expect(n).toBeGreaterThan(100);
      expect(painted, region).toBe(0);
    }
    // The same brow-family mask keeps the skin between the eyes (the gate does not simply close the box).
    const brows = { rect, alpha: new Float32Array(rect.width * rect.height).fill(1) };
    gate.apply('brows', brows);
    const mid = [(lm[EYE_RIGHT[0]][0] + lm[EYE_LEFT[0]][0]) / 2, (lm[EYE_RIGHT[0]][1] + lm[EYE_LEFT[0]][1]) / 2];
    expect(brows.alpha[Math.floor(mid[1] - rect.y) * rect.width + Math.floor(mid[0] - rect.x)]).toBeGreaterThan(0.9);
  });
});
