/**
 * The occlusion gate (issue 15, "never paint what is not there"): built once per frame, before any
 * renderer paints, from the camera's own pixels. `apply(region, mask)` multiplies a region's
 * coverage by how visible that region's own surface is:
 *   lips      → mouth.ts: the mouth interior (teeth, tongue, cavity) and fingers over the lips;
 *   eye area  → eyes.ts: sclera and iris under eyeshadow and liner;
 *   face skin → skin.ts: hair over the skin;
 *   every region → the eye openings and the mouth opening are holes, and the person segmentation
 *   (when it runs) removes what lies off the shopper's silhouette.
 * Visibility depends on the region's family only (lips, eyes, skin, brows), so it is computed once
 * per family and frame over a rect that holds all of that family's masks, on first use; the colour
 * models are sampled lazily, at most once per frame.
 */
import type { Frame } from '../../core/frame.ts';
import type { Face } from '../../vision/face.ts';
import {
  EYE_LEFT,
  EYE_LEFT_RING1_UPPER,
  EYE_LEFT_RING2_UPPER,
  EYE_RIGHT,
  EYE_RIGHT_RING1_UPPER,
  EYE_RIGHT_RING2_UPPER,
  FACE_OVAL,
  LIPS_INNER,
  LIPS_OUTER,
  interOcular,
  loop,
  regionPolygons,
  type RegionName,
} from '../../vision/regions.ts';
import type { PersonMask } from '../../vision/segmentation.ts';
import { fillPolygons, polygonBounds, type CoverageMask, type MaskRect } from '../raster.ts';
import type { OcclusionGate } from '../render/renderer.ts';
import { ramp, sampleModel, type ColourModel } from './colour-model.ts';
import { applyEyeGate } from './eyes.ts';
import { LabPlane, newLabScratch, type LabScratch } from './lab-plane.ts';
import { applyMouthGate, mouthModels } from './mouth.ts';
import { applySkinGate, faceSkinModel, newSkinScratch, type SkinScratch } from './skin.ts';
import { newGateMemory, settleLips, type GateMemory } from './temporal.ts';
import { f32, i32 } from '../frame-arena.ts';

type Family = 'lips' | 'eyes' | 'skin' | 'brows' | 'interior';

const FAMILY: Record<RegionName, Family> = {
  lipsOuter: 'lips',
  lips: 'lips',
  mouthOpening: 'interior',
  eyeRight: 'eyes',
  eyeLeft: 'eyes',
  eyes: 'eyes',
  upperEyelidRight: 'eyes',
  upperEyelidLeft: 'eyes',
  upperEyelids: 'eyes',
  lowerEyelidRight: 'eyes',
  lowerEyelidLeft: 'eyes',
  lowerEyelids: 'eyes',
  eyeshadowRight: 'eyes',
  eyeshadowLeft: 'eyes',
  eyeshadow: 'eyes',
  eyelinerRight: 'eyes',
  eyelinerLeft: 'eyes',
  eyeliner: 'eyes',
  // Brow hair is what brow products paint: a colour gate would fight them.
  browRight: 'brows',
  browLeft: 'brows',
  brows: 'brows',
  cheekRight: 'skin',
  cheekLeft: 'skin',
  cheeks: 'skin',
  forehead: 'skin',
  noseBridge: 'skin',
  noseSides: 'skin',
  chin: 'skin',
  contour: 'skin',
  faceOval: 'skin',
  skin: 'skin',
  nostrils: 'skin',
  faceSkin: 'skin',
  underEyeRight: 'skin',
  underEyeLeft: 'skin',
  underEyes: 'skin',
  cheekLiftedRight: 'skin',
  cheekLiftedLeft: 'skin',
  cheeksLifted: 'skin',
  cheekboneRight: 'skin',
  cheekboneLeft: 'skin',
  cheekbones: 'skin',
  browBoneRight: 'skin',
  browBoneLeft: 'skin',
  browBones: 'skin',
  contourRight: 'skin',
  contourLeft: 'skin',
};

/**
 * The gate reads pixels within the box of the face oval and of the face skin region (its oval is
 * raised towards the hairline) grown by this fraction of the inter-ocular distance. The skin
 * region must lie inside, or foundation's mask would miss the skin family's rect and the whole
 * face would be gated twice.
 */
const PLANE_PAD = 0.3;
/** Person probability (0..1) below `lo`: not the shopper; above `hi`: surely the shopper. */
const PERSON = { lo: 0.25, hi: 0.6 } as const;
/**
 * Each family's visibility is computed once per frame over one rect that holds every mask of that
 * family the renderers ask for (lipstick and the liner's lip side; shadow, liner and lashes; every
 * skin region), so a look with many skin products gates the skin once. Pads, × inter-ocular distance.
 */
const LIPS_PAD = 0.05;
const EYES_PAD = 0.13;
/** Pixels added to those pads (a small face's feathers are at least a pixel or two). */
const PAD_PX = 4;
/** Radius of the skin gate's closing over hair strands (skin.ts), × inter-ocular distance. */
const SKIN_CLOSING = 0.02;
/**
 * Under the eyes (the concealer zones), skin darker than the cheeks the skin model is sampled on is
 * dark circles, what concealer and foundation are for: there the skin test's lightness spread is
 * this many times wider on the darker side (skin.ts ShadedZone). Measured on the 315 fairness
 * photos: concealer's zones were held back a median 11 % on MST 2 and 21-23 % on MST 6-8 with the
 * plain test (tests/tryon/occlusion-under-eyes.test.ts).
 */
const UNDER_EYE_SHADE = 2;
/** How far past the zones that holds: the concealer zones' feather (region-masks.ts), × inter-ocular distance. */
const UNDER_EYE_REACH = 0.08;
/** The skin family's rect is the face skin region's box grown by this (its feather reaches 0.16). */
const SKIN_PAD = 0.17;

/**
 * What a gate keeps from frame to frame (one per try-on stage, i.e. per shopper track): reused
 * buffers and the lips' temporal hysteresis (temporal.ts). A gate without one starts from nothing.
 */
export interface GateScratch {
  lab: LabScratch;
  skin: SkinScratch;
  lips: GateMemory;
}

export const newGateScratch = (): GateScratch => ({ lab: newLabScratch(), skin: newSkinScratch(), lips: newGateMemory() });

export function createOcclusionGate(frame: Frame, face: Face, person?: PersonMask, scratch: GateScratch = newGateScratch()): OcclusionGate {
  const lm = face.landmarks;
  const scale = interOcular(lm);
  const skinOutline = regionPolygons(lm, 'faceSkin')[0];
  const planeRect = polygonBounds([loop(lm, FACE_OVAL), skinOutline], scale * PLANE_PAD, frame);
  const lab = planeRect ? new LabPlane(frame, planeRect, scratch.lab) : null;
  const usablePerson = person && person.width === frame.width && person.height === frame.height ? person : undefined;
  const lazy = <T>(make: () => T) => {
    let value: { v: T } | undefined;
    return () => (value ??= { v: make() }).v;
  };
  const mouth = lazy(() => (lab ? mouthModels(lab, lm) : { lip: null, skin: null }));
  const lid = lazy(() => (lab ? lidModel(lab, lm) : null));
  const skin = lazy(() => (lab ? faceSkinModel(lab, lm) : null));
  const cache = new Map<string, Float32Array>();

  /** `home`: the family's own rect (the one kept for the next frame's hysteresis). */
  const visibility = (family: Family, rect: MaskRect, home = false): Float32Array => {
    const vis = f32(rect.width * rect.height).fill(1);
    if (family === 'interior') return vis.fill(0);
    if (family !== 'lips') holes(vis, rect, [loop(lm, LIPS_INNER)]);
    if (family !== 'eyes') holes(vis, rect, [loop(lm, EYE_RIGHT), loop(lm, EYE_LEFT)]);
    if (lab && family === 'lips') {
      const settle = home ? (seen: Float32Array) => settleLips(scratch.lips, lm, rect, seen, frame.capturedAt) : undefined;
      applyMouthGate(lab, lm, mouth(), rect, vis, settle);
    }
    if (lab && family === 'eyes') applyEyeGate(lab, lm, lid(), face.iris, rect, vis);
    const skinModel = family === 'skin' ? skin() : null;
    if (lab && skinModel) applySkinGate(lab, skinModel, rect, vis, scale * SKIN_CLOSING, scratch.skin, { polygons: regionPolygons(lm, 'underEyes'), reachPx: scale * UNDER_EYE_REACH, darker: UNDER_EYE_SHADE });
    if (family === 'skin') keepOnPlane(vis, rect, planeRect);
    if (usablePerson) personGate(usablePerson, rect, vis);
    return vis;
  };

  const familyRects: Partial<Record<Family, MaskRect | null>> = {
    skin: padded(skinOutline, scale * SKIN_PAD + PAD_PX, planeRect),
    lips: padded(loop(lm, LIPS_OUTER), scale * LIPS_PAD + PAD_PX, planeRect),
    eyes: padded(loop(lm, EYE_FAMILY_POINTS), scale * EYES_PAD + PAD_PX, planeRect),
  };
  const familyVis = new Map<Family, { rect: MaskRect; vis: Float32Array; spans: Int32Array }>();

  return {
    apply(region, mask: CoverageMask) {
      const { rect, alpha } = mask;
      const family = FAMILY[region];
      if (family === 'interior') {
        alpha.fill(0);
        return;
      }
      const home = familyRects[family];
      if (home && contains(home, rect)) {
        let fv = familyVis.get(family);
        if (!fv) {
          const vis = visibility(family, home, true);
          fv = { rect: home, vis, spans: gatedSpans(vis, home) };
          familyVis.set(family, fv);
        }
        multiplyAt(alpha, rect, fv.vis, home, fv.spans);
        return;
      }
      // A mask outside its family's rect (a face at the frame's edge, a stray region): gated on its own.
      const key = `${family}:${rect.x},${rect.y},${rect.width},${rect.height}`;
      let vis = cache.get(key);
      if (!vis) {
        vis = visibility(family, rect);
        cache.set(key, vis);
      }
      for (let i = 0; i < alpha.length; i++) alpha[i] *= vis[i];
    },
  };
}

/** Lash lines, the crease ring and the ring under the brow of both eyes: what shadow, liner and lashes reach. */
const EYE_FAMILY_POINTS = [...EYE_RIGHT, ...EYE_LEFT, ...EYE_RIGHT_RING1_UPPER, ...EYE_LEFT_RING1_UPPER, ...EYE_RIGHT_RING2_UPPER, ...EYE_LEFT_RING2_UPPER];

/** Box of some points grown by `pad`, within `limit` (null without a limit). */
function padded(points: ReadonlyArray<readonly [number, number]>, pad: number, limit: MaskRect | null): MaskRect | null {
  if (!limit) return null;
  const box = polygonBounds([points], pad, { width: limit.x + limit.width, height: limit.y + limit.height });
  if (!box) return null;
  const x = Math.max(box.x, limit.x);
  const y = Math.max(box.y, limit.y);
  return { x, y, width: box.x + box.width - x, height: box.y + box.height - y };
}

/**
 * Zeroes `vis` (over `rect`) outside the gate's pixel plane: skin paint there (a blush zone swept
 * past the face oval) cannot be checked against the skin model, and off the face is hair or background.
 */
function keepOnPlane(vis: Float32Array, rect: MaskRect, plane: MaskRect | null): void {
  const clampX = (x: number) => Math.min(rect.width, Math.max(0, x));
  for (let y = 0; y < rect.height; y++) {
    const row = y * rect.width;
    const py = rect.y + y;
    if (!plane || py < plane.y || py >= plane.y + plane.height) {
      vis.fill(0, row, row + rect.width);
      continue;
    }
    vis.fill(0, row, row + clampX(plane.x - rect.x));
    vis.fill(0, row + clampX(plane.x + plane.width - rect.x), row + rect.width);
  }
}

const contains = (outer: MaskRect, inner: MaskRect): boolean =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;

/**
 * Per row of `vis` (over `rect`): the first and one past the last column whose visibility is not
 * exactly 1 ([0, 0] when none). Most of a family's rect is plain visible surface; masks multiplied
 * by it (a look asks for up to a dozen skin masks) need only touch these spans.
 */
function gatedSpans(vis: Float32Array, rect: MaskRect): Int32Array {
  const spans = i32(rect.height * 2);
  for (let y = 0; y < rect.height; y++) {
    const row = y * rect.width;
    let first = 0;
    while (first < rect.width && vis[row + first] === 1) first++;
    let end = rect.width;
    while (end > first && vis[row + end - 1] === 1) end--;
    spans[2 * y] = first;
    spans[2 * y + 1] = end;
  }
  return spans;
}

/** alpha (over `rect`) *= vis (over `home`, which contains `rect`), only within `spans` (gatedSpans of vis): x * 1 is x. */
function multiplyAt(alpha: Float32Array, rect: MaskRect, vis: Float32Array, home: MaskRect, spans: Int32Array): void {
  const dx = rect.x - home.x;
  for (let y = 0; y < rect.height; y++) {
    const hy = rect.y - home.y + y;
    const x0 = Math.max(0, spans[2 * hy] - dx);
    const x1 = Math.min(rect.width, spans[2 * hy + 1] - dx);
    const a0 = y * rect.width;
    const v0 = hy * home.width + dx;
    for (let x = x0; x < x1; x++) alpha[a0 + x] *= vis[v0 + x];
  }
}

/** Lid skin model: the eyeshadow zone, lash line to brow (lashes and liner are the minority). */
function lidModel(lab: LabPlane, lm: Face['landmarks']): ColourModel | null {
  const polys = regionPolygons(lm, 'eyeshadow');
  const rect = polygonBounds(polys, 0, { width: lab.rect.x + lab.rect.width, height: lab.rect.y + lab.rect.height });
  return rect ? sampleModel(lab, { rect, polys }, { L: 6, a: 3, b: 3 }) : null;
}

/** Zeroes `vis` inside `polys`, filling only where their box meets `rect`. */
function holes(vis: Float32Array, rect: MaskRect, polys: Array<Array<[number, number]>>): void {
  const box = polygonBounds(polys, 1, { width: rect.x + rect.width, height: rect.y + rect.height });
  if (!box) return;
  const x0 = Math.max(box.x, rect.x);
  const y0 = Math.max(box.y, rect.y);
  const sub = { x: x0, y: y0, width: box.x + box.width - x0, height: box.y + box.height - y0 };
  if (sub.width <= 0 || sub.height <= 0) return;
  const cover = fillPolygons(polys, sub);
  for (let y = 0; y < sub.height; y++) {
    const row = (sub.y - rect.y + y) * rect.width + sub.x - rect.x;
    for (let x = 0; x < sub.width; x++) vis[row + x] *= 1 - Math.min(1, cover[y * sub.width + x]);
  }
}

function personGate(person: PersonMask, rect: MaskRect, vis: Float32Array): void {
  for (let y = 0; y < rect.height; y++) {
    const row = (rect.y + y) * person.width + rect.x;
    for (let x = 0; x < rect.width; x++) vis[y * rect.width + x] *= ramp(person.data[row + x] / 255, PERSON.lo, PERSON.hi);
  }
}
