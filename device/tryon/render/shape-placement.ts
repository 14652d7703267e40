/**
 * Where blush, contour and bronzer go for each face shape (advisor/face-shape.ts), after the usual
 * make-up artists' rules, as one table and the geometry that turns it into zones on the mesh.
 *
 *   oval    neutral: blush on the apples blended a little up, a light contour under the cheekbones.
 *   round   contour under the cheekbones angled up towards the temples; blush higher, swept
 *           towards the temples (both lengthen the face).
 *   square  a soft contour at the jaw corners (softens the angles); blush swept up towards the temples.
 *   heart   contour the temples, the chin kept light; blush lower on the apples (balances the wide
 *           brow and the narrow chin).
 *   long    blush horizontal across the apples towards the ears; contour at the hairline and under
 *           the chin, the cheekbone hollow horizontal (all shorten the face).
 *
 * The kiosk says the same in words (ui/src/lib/advisor/words.ts FACE_SHAPE_WORDS).
 *
 * Each zone is an ellipse in the face's own frame: an anchor on the mesh, an offset (`out` away from
 * the nose on that side, `up` towards the forehead), semi-axes, and a tilt (degrees; positive raises
 * the outer end). Lengths are in inter-ocular distances (outer eye corners), so a zone keeps its
 * place on the face at any distance from the mirror. Paired zones are mirrored on the two sides.
 */
import type { FaceShape } from '../../advisor/face-shape.ts';
import { interOcular, type Point, type Polygon, type RegionName } from '../../vision/regions.ts';
import type { Placement } from './face-layers.ts';

type Anchor = 'apple' | 'cheekbone' | 'jaw' | 'temple' | 'hairline' | 'chin';
/** Mesh points whose mean is the anchor, [subject's right, subject's left]; a centred anchor has one set, used once. */
const pairOf = (right: readonly number[], left: readonly number[]) => ({ sides: [right, left] as const, paired: true });
const centred = (points: readonly number[]) => ({ sides: [points, points] as const, paired: false });
const ANCHORS: Record<Anchor, { sides: readonly [readonly number[], readonly number[]]; paired: boolean }> = {
  /** The apple of the cheek: the middle of the blush zone of vision/regions.ts. */
  apple: pairOf([117, 118, 119, 101, 36, 205, 187, 123], [346, 347, 348, 330, 266, 425, 411, 352]),
  /** The side of the face at the cheekbone, the face's widest line (as face-shape.ts measures it). */
  cheekbone: pairOf([234], [454]),
  /** The jaw angle (as face-shape.ts measures the jaw). */
  jaw: pairOf([172], [397]),
  /** The temple, on the oval just above the brow line. */
  temple: pairOf([21], [251]),
  /** The top of the mesh's forehead (it stops below the hairline: zones there are raised) and the chin. */
  hairline: centred([10]),
  chin: centred([152]),
};

export interface Ellipse {
  anchor: Anchor;
  out: number;
  up: number;
  /** Semi-axes along and across the tilted direction. */
  a: number;
  b: number;
  tilt: number;
}

export interface WeightedEllipse extends Ellipse {
  /** Share of the product's strength in this zone. */
  weight: number;
}

export interface ShapeRules {
  blush: Ellipse;
  contour: readonly WeightedEllipse[];
  bronzer: readonly WeightedEllipse[];
}

/** Under the cheekbone: from the side of the face in and down towards the mouth corner. */
const hollow = (tilt: number, weight: number): WeightedEllipse => ({ anchor: 'cheekbone', out: -0.3, up: -0.3, a: 0.3, b: 0.09, tilt, weight });
const temples = (weight: number): WeightedEllipse => ({ anchor: 'temple', out: -0.1, up: 0.05, a: 0.12, b: 0.2, tilt: 0, weight });
const jawCorners = (weight: number): WeightedEllipse => ({ anchor: 'jaw', out: -0.08, up: 0.05, a: 0.12, b: 0.2, tilt: -45, weight });
const hairline = (weight: number): WeightedEllipse => ({ anchor: 'hairline', out: 0, up: 0.2, a: 0.45, b: 0.11, tilt: 0, weight });
const chinTip = (weight: number): WeightedEllipse => ({ anchor: 'chin', out: 0, up: 0.06, a: 0.2, b: 0.07, tilt: 0, weight });
/** Bronzer where the sun lands on the cheekbones: the apple swept out towards the ear. */
const sunCheek = (tilt: number): WeightedEllipse => ({ anchor: 'apple', out: 0.25, up: 0.08, a: 0.38, b: 0.15, tilt, weight: 1 });

export const SHAPE_RULES: Record<FaceShape, ShapeRules> = {
  oval: {
    blush: { anchor: 'apple', out: 0.05, up: 0, a: 0.3, b: 0.21, tilt: 20 },
    contour: [hollow(10, 0.8)],
    bronzer: [sunCheek(20), temples(0.4)],
  },
  round: {
    blush: { anchor: 'apple', out: 0.15, up: 0.12, a: 0.36, b: 0.16, tilt: 40 },
    contour: [hollow(35, 1), temples(0.3)],
    bronzer: [sunCheek(35), temples(0.5), jawCorners(0.3)],
  },
  square: {
    blush: { anchor: 'apple', out: 0.12, up: 0.08, a: 0.32, b: 0.19, tilt: 35 },
    contour: [hollow(15, 0.6), jawCorners(1)],
    bronzer: [sunCheek(20), temples(0.5), jawCorners(0.5)],
  },
  heart: {
    blush: { anchor: 'apple', out: 0.02, up: -0.1, a: 0.28, b: 0.2, tilt: 10 },
    contour: [hollow(15, 0.6), temples(1)],
    bronzer: [sunCheek(15), temples(0.6)],
  },
  long: {
    blush: { anchor: 'apple', out: 0.16, up: -0.02, a: 0.38, b: 0.17, tilt: 0 },
    contour: [hollow(0, 0.7), hairline(0.8), chinTip(0.8)],
    bronzer: [sunCheek(0), hairline(0.4), chinTip(0.3)],
  },
};

/** The catalog's `lifted` blush: the shape's blush swept further out and up towards the temple. */
const LIFTED = { out: 0.1, up: 0.08, tilt: 15 } as const;

/** Feathers (fraction of the inter-ocular distance), as the named regions of the same products. */
const FEATHER = { blush: 0.09, contour: 0.08, bronzer: 0.09 } as const;

/** A zone of the face that is not a named mesh region: its outline, its feather, and the region it is gated as. */
export interface ShapedZone {
  /** Cache key within one frame: the same key always means the same outline. */
  key: string;
  polygons: Polygon[];
  /** Feather, fraction of the inter-ocular distance. */
  feather: number;
  /** The named region whose surface (occlusion family) gates it. */
  gateAs: RegionName;
}

/** The face's own axes in the image: `up` chin → forehead, `across` the subject's right → left cheekbone. */
function faceAxes(lm: ReadonlyArray<Point>): { up: [number, number]; across: [number, number] } {
  const ux = lm[10][0] - lm[152][0];
  const uy = lm[10][1] - lm[152][1];
  const n = Math.hypot(ux, uy) || 1;
  const up: [number, number] = [ux / n, uy / n];
  // Perpendicular to `up`, signed towards the subject's left cheekbone.
  let across: [number, number] = [-up[1], up[0]];
  if ((lm[454][0] - lm[234][0]) * across[0] + (lm[454][1] - lm[234][1]) * across[1] < 0) across = [-across[0], -across[1]];
  return { up, across };
}

const SEGMENTS = 24;

/** The ellipse's outline in frame pixels on side 0 (subject's right) or 1 (left). */
export function ellipseOutline(lm: ReadonlyArray<Point>, e: Ellipse, side: 0 | 1): Polygon {
  const iod = interOcular(lm);
  const { up, across } = faceAxes(lm);
  const sign = side === 0 ? -1 : 1;
  const out: [number, number] = [across[0] * sign, across[1] * sign];
  const points = ANCHORS[e.anchor].sides[side];
  let cx = 0;
  let cy = 0;
  for (const i of points) {
    cx += lm[i][0] / points.length;
    cy += lm[i][1] / points.length;
  }
  cx += (out[0] * e.out + up[0] * e.up) * iod;
  cy += (out[1] * e.out + up[1] * e.up) * iod;
  const t = (e.tilt * Math.PI) / 180;
  const major = [out[0] * Math.cos(t) + up[0] * Math.sin(t), out[1] * Math.cos(t) + up[1] * Math.sin(t)];
  const minor = [-out[0] * Math.sin(t) + up[0] * Math.cos(t), -out[1] * Math.sin(t) + up[1] * Math.cos(t)];
  const poly: Polygon = [];
  for (let k = 0; k < SEGMENTS; k++) {
    const th = (2 * Math.PI * k) / SEGMENTS;
    const p = Math.cos(th) * e.a * iod;
    const q = Math.sin(th) * e.b * iod;
    poly.push([cx + major[0] * p + minor[0] * q, cy + major[1] * p + minor[1] * q]);
  }
  return poly;
}

type Product = keyof typeof FEATHER;

/** Both sides of a paired zone as two placements (each side its own small rect); a centred zone once. */
function zonePlacements(lm: ReadonlyArray<Point>, product: Product, key: string, e: Ellipse, weight: number): Placement[] {
  const sides: Array<0 | 1> = ANCHORS[e.anchor].paired ? [0, 1] : [0];
  return sides.map((side) => ({
    region: {
      key: `${product}:${key}:${side}`,
      polygons: [ellipseOutline(lm, e, side)],
      feather: FEATHER[product],
      gateAs: side === 0 ? 'cheekRight' : 'cheekLeft',
    },
    weight,
  }));
}

export function blushPlacements(lm: ReadonlyArray<Point>, shape: FaceShape, lifted: boolean): Placement[] {
  const base = SHAPE_RULES[shape].blush;
  const e = lifted ? { ...base, out: base.out + LIFTED.out, up: base.up + LIFTED.up, tilt: base.tilt + LIFTED.tilt } : base;
  return zonePlacements(lm, 'blush', `${shape}:${lifted ? 'lifted' : 'apples'}`, e, 1);
}

export function contourPlacements(lm: ReadonlyArray<Point>, shape: FaceShape): Placement[] {
  return [
    ...SHAPE_RULES[shape].contour.flatMap((e, i) => zonePlacements(lm, 'contour', `${shape}:${i}`, e, e.weight)),
    // The nose is sculpted the same on every face, more lightly than the cheeks.
    { region: 'noseSides', weight: 0.6 },
  ];
}

export function bronzerPlacements(lm: ReadonlyArray<Point>, shape: FaceShape): Placement[] {
  return [
    ...SHAPE_RULES[shape].bronzer.flatMap((e, i) => zonePlacements(lm, 'bronzer', `${shape}:${i}`, e, e.weight)),
    // Where the sun lands on every face: the top of the forehead and the nose bridge.
    ...(shape === 'long' ? [] : [{ region: 'forehead' as const, weight: 0.35 }]),
    { region: 'noseBridge', weight: 0.5 },
  ];
}
