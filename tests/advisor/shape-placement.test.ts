/**
 * Face shape drives where blush, contour and bronzer go (device/tryon/render/shape-placement.ts), on
 * real photos with their real mesh, through the real renderers, context and occlusion gate. For
 * each shape the painted pixels (any change of the camera's pixels) are measured in the face's own
 * frame (x away from the nose on that side, y towards the forehead, in inter-ocular distances):
 * their centroid and the tilt of their principal axis (positive: outer end raised). The rules:
 *   blush    round sits higher and tilts up more than oval; heart sits lower; long is flatter than
 *            round and reaches further out towards the ears than oval
 *   contour  square paints the jaw corners, heart the temples, long the hairline and chin, far
 *            more than oval does; round's cheekbone hollow tilts up more than oval's
 * And the stage hands the advisor's settled shape to the renderers. PNGs under test-artifacts/tryon/.
 */
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faceGeometry, faceShapeOf, type FaceShape } from '../../device/advisor/face-shape.ts';
import type { CatalogSlot } from '../../device/tryon/catalog.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import { RENDERERS } from '../../device/tryon/render/registry.ts';
import type { AppliedProduct } from '../../device/tryon/render/renderer.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { interOcular } from '../../device/vision/regions.ts';
import { loadVision } from '../helpers/vision.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { frameOf, product, savePng, type Shopper } from '../helpers/tryon.ts';
import { faceIn } from './support.ts';

const FIXTURES = path.join(repoRoot, 'tests', 'fixtures', 'fairness');

/** Frontal public-domain portraits (tests/fixtures/fairness/SOURCES.md), light, medium and deep. */
const PHOTOS = ['B001234.jpg', 'C000984.jpg', 'G000553.jpg'];
const SHAPES: FaceShape[] = ['oval', 'round', 'square', 'heart', 'long'];

let shoppers: Shopper[];
beforeAll(async () => {
  const vision = await loadVision();
  shoppers = [];
  for (const file of PHOTOS) {
    // As the fairness evaluation frames them: 440 px high on a mid-grey 640x480 frame.
    const photo = await sharp(path.join(FIXTURES, file)).removeAlpha().resize({ height: 440 }).toBuffer({ resolveWithObject: true });
    const { data, info } = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite([{ input: photo.data, left: Math.round((640 - photo.info.width) / 2), top: 20 }])
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image = { width: info.width, height: info.height, data: new Uint8Array(data) };
    shoppers.push({ name: path.basename(file, '.jpg'), image, face: await faceIn(vision, image) });
  }
}, 120_000);

/** A dark, opaque shade so every painted pixel shows. */
const items = {
  blush: product('blush', '#8a1030', 'matte', { opacity: 1, style: { placement: 'apples' } }),
  contour: product('contour', '#3a2418', 'matte', { opacity: 1 }),
  bronzer: product('bronzer', '#5a3010', 'matte', { opacity: 1 }),
} satisfies Record<string, AppliedProduct>;

/** Per pixel: how much the render changed it (sum of |Δ| over RGB). */
function render(shopper: Shopper, item: AppliedProduct, shape: FaceShape): { changed: Float32Array; out: Uint8Array } {
  const frame = frameOf(shopper.image);
  const ctx = createRenderContext(frame, shopper.face, createOcclusionGate(frame, shopper.face), undefined, shape);
  expect(RENDERERS.get(item.product.category)!.render(ctx, item)).toBe(true);
  const changed = new Float32Array(frame.width * frame.height);
  for (let i = 0; i < changed.length; i++)
    changed[i] = Math.abs(frame.data[3 * i] - shopper.image.data[3 * i]) + Math.abs(frame.data[3 * i + 1] - shopper.image.data[3 * i + 1]) + Math.abs(frame.data[3 * i + 2] - shopper.image.data[3 * i + 2]);
  return { changed, out: new Uint8Array(frame.data) };
}

interface Frame2 {
  /** Face point → (x, y) in the face's frame: x towards the subject's left, y towards the forehead, IODs from the nose tip. */
  toFace(px: number, py: number): [number, number];
  fromFace(x: number, y: number): [number, number];
}

function faceFrame(shopper: Shopper): Frame2 {
  const lm = shopper.face.landmarks;
  const iod = interOcular(lm);
  const ux = lm[10][0] - lm[152][0];
  const uy = lm[10][1] - lm[152][1];
  const n = Math.hypot(ux, uy);
  const up = [ux / n, uy / n];
  let across = [-up[1], up[0]];
  if ((lm[454][0] - lm[234][0]) * across[0] + (lm[454][1] - lm[234][1]) * across[1] < 0) across = [-across[0], -across[1]];
  const [ox, oy] = lm[1];
  return {
    toFace: (px, py) => [((px - ox) * across[0] + (py - oy) * across[1]) / iod, ((px - ox) * up[0] + (py - oy) * up[1]) / iod],
    fromFace: (x, y) => [ox + (across[0] * x + up[0] * y) * iod, oy + (across[1] * x + up[1] * y) * iod],
  };
}

interface SideStats {
  /** Centroid: out (away from the nose), up. */
  out: number;
  up: number;
  /** Rise of the paint per unit out (weighted regression slope), as degrees: outer end raised positive. */
  tilt: number;
  /** 95th percentile of `out` over painted pixels: how far towards the ear it reaches. */
  reach: number;
}

/** Painted weight on each side of the face midline (inside `band`, face-frame limits, when given). */
function sideStats(shopper: Shopper, changed: Float32Array, band?: { minOut: number; minUp: number; maxUp: number }): SideStats[] {
  const { width } = shopper.image;
  const f = faceFrame(shopper);
  const sides = [-1, 1].map((sign) => {
    let w = 0;
    let sx = 0;
    let sy = 0;
    const pts: Array<[number, number, number]> = [];
    for (let i = 0; i < changed.length; i++) {
      if (changed[i] < 6) continue;
      const [x, y] = f.toFace(i % width, Math.floor(i / width));
      const out = x * sign;
      if (out <= (band?.minOut ?? 0.05) || (band && (y < band.minUp || y > band.maxUp))) continue;
      pts.push([out, y, changed[i]]);
      w += changed[i];
      sx += out * changed[i];
      sy += y * changed[i];
    }
    const mx = sx / w;
    const my = sy / w;
    let cxx = 0;
    let cxy = 0;
    for (const [x, y, v] of pts) {
      cxx += v * (x - mx) ** 2;
      cxy += v * (x - mx) * (y - my);
    }
    // A regression slope, not the principal axis: a soft, nearly round blob has no stable axis.
    const tilt = (Math.atan(cxy / cxx) * 180) / Math.PI;
    const sorted = pts.map((p) => p[0]).sort((a, b) => a - b);
    return { out: mx, up: my, tilt, reach: sorted[Math.floor(sorted.length * 0.95)] };
  });
  return sides.filter((_, i) => shownSides(shopper)[i]);
}

/**
 * The sides of the face the camera sees well (the same for every shape): a head turned away shows
 * one cheek foreshortened, the gate hides much of it, and what is left cannot be measured.
 */
function shownSides(shopper: Shopper): [boolean, boolean] {
  const halfWidth = [Math.abs(at(shopper, 234)[0]), Math.abs(at(shopper, 454)[0])];
  const wide = Math.max(...halfWidth);
  return [halfWidth[0] >= 0.75 * wide, halfWidth[1] >= 0.75 * wide];
}

const mean = (stats: SideStats[], k: keyof SideStats): number => stats.reduce((s, v) => s + v[k], 0) / stats.length;

/** Painted weight inside a disc (radius r IODs) around face point (x, y) in the face frame, both sides mirrored when `mirror`. */
function weightNear(shopper: Shopper, changed: Float32Array, points: Array<[number, number]>, r: number): number {
  const { width } = shopper.image;
  const f = faceFrame(shopper);
  let w = 0;
  for (let i = 0; i < changed.length; i++) {
    if (changed[i] === 0) continue;
    const [x, y] = f.toFace(i % width, Math.floor(i / width));
    if (points.some(([px, py]) => Math.hypot(x - px, y - py) <= r)) w += changed[i];
  }
  return w;
}

/** A mesh point in the face frame. */
const at = (shopper: Shopper, index: number): [number, number] => faceFrame(shopper).toFace(shopper.face.landmarks[index][0], shopper.face.landmarks[index][1]);

/** The cheeks in the face frame: from the mouth corners' level to just below the eyes, off the nose. */
const cheekBand = (shopper: Shopper) => ({ minOut: 0.35, minUp: at(shopper, 61)[1], maxUp: at(shopper, 33)[1] - 0.1 });

describe('face shape places blush, contour and bronzer (real photos, real renderers)', () => {
  it('blush: round higher and tilted up, heart lower (vs oval); long flatter (vs round) and reaching as far out as oval (the skin gate stops all blush at its plane, 0.3 IOD past the face oval)', async () => {
    for (const shopper of shoppers) {
      const stats = Object.fromEntries(
        await Promise.all(
          SHAPES.map(async (shape) => {
            const { changed, out } = render(shopper, items.blush, shape);
            await savePng(`shape-blush-${shape}-${shopper.name}`, { width: shopper.image.width, height: shopper.image.height, data: out });
            return [shape, sideStats(shopper, changed)] as const;
          }),
        ),
      ) as Record<FaceShape, SideStats[]>;
      const row = (s: FaceShape) => `${s}: up ${mean(stats[s], 'up').toFixed(2)} out ${mean(stats[s], 'out').toFixed(2)} tilt ${mean(stats[s], 'tilt').toFixed(0)} reach ${mean(stats[s], 'reach').toFixed(2)}`;
      console.log(`blush ${shopper.name} (sides ${shownSides(shopper).map((v, i) => (v ? ['right', 'left'][i] : '')).join(' ')})\n  ${SHAPES.map(row).join('\n  ')}`);
      expect(mean(stats.round, 'up')).toBeGreaterThan(mean(stats.oval, 'up') + 0.05);
      expect(mean(stats.round, 'tilt')).toBeGreaterThan(mean(stats.oval, 'tilt') + 8);
      expect(mean(stats.heart, 'up')).toBeLessThan(mean(stats.oval, 'up') - 0.05);
      expect(mean(stats.long, 'tilt')).toBeLessThan(mean(stats.round, 'tilt') - 8);
      expect(mean(stats.long, 'reach')).toBeGreaterThanOrEqual(mean(stats.oval, 'reach') - 0.01);
    }
  }, 120_000);

  it('contour: square at the jaw corners, heart at the temples, long at hairline and chin, round angled up (vs oval)', async () => {
    for (const shopper of shoppers) {
      const changed = Object.fromEntries(
        await Promise.all(
          SHAPES.map(async (shape) => {
            const r = render(shopper, items.contour, shape);
            await savePng(`shape-contour-${shape}-${shopper.name}`, { width: shopper.image.width, height: shopper.image.height, data: r.out });
            return [shape, r.changed] as const;
          }),
        ),
      ) as Record<FaceShape, Float32Array>;
      const jaw = [at(shopper, 172), at(shopper, 397)];
      const temples = [at(shopper, 21), at(shopper, 251)];
      const ends = [at(shopper, 10), at(shopper, 152)];
      const near = (shape: FaceShape, points: Array<[number, number]>) => weightNear(shopper, changed[shape], points, 0.15);
      // The cheekbone hollow alone: below the eyes, above the mouth corners, off the nose.
      const hollowTilt = (shape: FaceShape) => mean(sideStats(shopper, changed[shape], cheekBand(shopper)), 'tilt');
      const report = SHAPES.map((s) => `${s}: jaw ${near(s, jaw).toFixed(0)} temples ${near(s, temples).toFixed(0)} hairline+chin ${near(s, ends).toFixed(0)} hollow tilt ${hollowTilt(s).toFixed(0)}`);
      console.log(`contour ${shopper.name}\n  ${report.join('\n  ')}`);
      expect(near('square', jaw)).toBeGreaterThan(3 * near('oval', jaw) + 1000);
      expect(near('heart', temples)).toBeGreaterThan(3 * near('oval', temples) + 1000);
      expect(near('long', ends)).toBeGreaterThan(3 * near('oval', ends) + 1000);
      expect(hollowTilt('round')).toBeGreaterThan(hollowTilt('oval') + 8);
    }
  }, 120_000);

  it('bronzer: long drops the forehead centre for the hairline and sweeps flatter than round', () => {
    const shopper = shoppers[0];
    const round = sideStats(shopper, render(shopper, items.bronzer, 'round').changed, cheekBand(shopper));
    const long = sideStats(shopper, render(shopper, items.bronzer, 'long').changed, cheekBand(shopper));
    console.log(`bronzer ${shopper.name}: round tilt ${mean(round, 'tilt').toFixed(0)}, long tilt ${mean(long, 'tilt').toFixed(0)}`);
    expect(mean(long, 'tilt')).toBeLessThan(mean(round, 'tilt') - 5);
  });

  it("the stage paints with the advisor's settled shape, and reads the mesh when there is none", () => {
    const shopper = shoppers[0];
    const paintWith = (faceShape: (() => FaceShape | null) | undefined): Buffer => {
      const frame = frameOf(shopper.image);
      const catalog = { current: { catalog: { version: 't', products: [], looks: [] } } } as unknown as CatalogSlot;
      const stage = createTryOnStage({ selection: () => ({ items: [items.blush], compare: null }), gate: createOcclusionGate, catalog, ...(faceShape ? { faceShape } : {}) });
      expect(stage(frame, [shopper.face])).toEqual([items.blush.product.id]);
      return frame.data;
    };
    const direct = (shape: FaceShape) => Buffer.from(render(shopper, items.blush, shape).out);
    expect(paintWith(() => 'round').equals(direct('round'))).toBe(true);
    expect(paintWith(() => 'long').equals(direct('long'))).toBe(true);
    expect(paintWith(() => 'round').equals(direct('long'))).toBe(false);
    // No settled reading: this frame's mesh decides (one of the five), the same as no provider at all.
    expect(paintWith(() => null).equals(paintWith(undefined))).toBe(true);
    expect(SHAPES.some((s) => paintWith(() => null).equals(direct(s)))).toBe(true);
  });
});

describe('the face shape read from the mesh (README rules) on real meshes reshaped', () => {
  // Each real mesh reshaped the way a face of that shape differs: longer, shorter, a narrow or a wide jaw.
  // Below the mouth corners (mesh 61/291) is the jaw; x is scaled about the nose (mesh 1), y about mesh 168.
  type Mesh = ReadonlyArray<readonly [number, number, number?]>;
  const reshape = (lm: Mesh, sx: (p: readonly [number, number, number?]) => number, sy: number): Array<[number, number, number]> => {
    const [nx] = lm[1];
    const [, my] = lm[168];
    return lm.map((p) => [nx + (p[0] - nx) * sx(p), my + (p[1] - my) * sy, (p[2] ?? 0) * sx(p)]);
  };
  it('longer reads long, shorter round, a narrow jaw heart, a wide jaw square', () => {
    for (const { name, face } of shoppers) {
      const lm = face.landmarks as Mesh;
      const jawY = (lm[61][1] + lm[291][1]) / 2;
      const jaw = (k: number) => (p: readonly [number, number, number?]) => (p[1] > jawY ? k : 1);
      const cases: Array<[FaceShape, Array<[number, number, number]>]> = [
        ['long', reshape(lm, () => 1, 1.35)],
        ['round', reshape(lm, () => 1, 0.85)],
        ['heart', reshape(lm, jaw(0.7), 1)],
        ['square', reshape(reshape(lm, jaw(1.25), 1), () => 1, 0.95)],
      ];
      for (const [shape, mesh] of cases) {
        const g = faceGeometry(mesh);
        expect(faceShapeOf(g), `${name} reshaped as ${shape}: ${JSON.stringify(g)}`).toBe(shape);
      }
    }
  });
});

