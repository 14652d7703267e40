/**
 * Face regions from the 468-point MediaPipe mesh, as polygons in frame pixels.
 *
 * Every region is a list of closed loops filled with the even-odd rule, so a ring (lips = outer
 * loop + mouth opening) or a face with holes (skin = oval + eyes + brows + mouth) is one region.
 * "Right" and "left" are the subject's sides (the image's left and right on an unmirrored frame).
 * Indices were picked on a labelled mesh of a frontal face and checked by drawing every region
 * (tests/tools/draw-regions.ts). Soft masks at frame resolution live in tryon/region-masks.ts
 * (the rasteriser belongs to the try-on stage; vision only says where things are).
 */

/** Outer lip contour, clockwise from the right mouth corner (61) along the lower lip. */
export const LIPS_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185] as const;

/** Inner lip contour (the mouth opening): teeth and tongue lie inside it and are never painted. */
export const LIPS_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191] as const;

/** Lash lines, outer corner → inner corner. */
export const EYE_RIGHT_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133] as const;
export const EYE_RIGHT_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133] as const;
export const EYE_LEFT_UPPER = [263, 466, 388, 387, 386, 385, 384, 398, 362] as const;
export const EYE_LEFT_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362] as const;
/** Outer eye corners (the lash lines' first points): the eye line that rotates crops and measures the inter-ocular distance. */
export const EYE_RIGHT_OUTER = EYE_RIGHT_UPPER[0];
export const EYE_LEFT_OUTER = EYE_LEFT_UPPER[0];

/** The eye opening (between the lash lines), as a loop. */
export const EYE_RIGHT = [...EYE_RIGHT_UPPER, ...EYE_RIGHT_LOWER.slice(1, -1).reverse()] as const;
export const EYE_LEFT = [...EYE_LEFT_UPPER, ...EYE_LEFT_LOWER.slice(1, -1).reverse()] as const;

/** First ring around the eye (the lid crease above, the lower lid's edge below), outer → inner. */
export const EYE_RIGHT_RING1_UPPER = [130, 247, 30, 29, 27, 28, 56, 190, 243] as const;
const EYE_RIGHT_RING1_LOWER = [130, 25, 110, 24, 23, 22, 26, 112, 243] as const;
export const EYE_LEFT_RING1_UPPER = [359, 467, 260, 259, 257, 258, 286, 414, 463] as const;
const EYE_LEFT_RING1_LOWER = [359, 255, 339, 254, 253, 252, 256, 341, 463] as const;
/** Second ring above the eye: just under the brow, outer → inner. */
export const EYE_RIGHT_RING2_UPPER = [113, 225, 224, 223, 222, 221, 189] as const;
export const EYE_LEFT_RING2_UPPER = [342, 445, 444, 443, 442, 441, 413] as const;

export const BROW_RIGHT = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46] as const;
export const BROW_LEFT = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276] as const;

/** Face oval, clockwise from the top of the forehead. */
export const FACE_OVAL = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58,
  132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
] as const;

/** Blush zone: the apple of the cheek, below the lower eye ring and beside the nose. */
const CHEEK_RIGHT = [117, 118, 119, 101, 36, 205, 187, 123] as const;
const CHEEK_LEFT = [346, 347, 348, 330, 266, 425, 411, 352] as const;

/** Forehead above the brows up to the oval's top. */
const FOREHEAD = [21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 300, 293, 334, 296, 336, 9, 107, 66, 105, 63, 70] as const;
/** Highlight strip down the nose bridge to the tip. */
const NOSE_BRIDGE = [168, 417, 351, 419, 248, 281, 275, 4, 45, 51, 3, 196, 122, 193] as const;
/** Edges of the nose bridge (top → tip) and the midline points beside them. */
const NOSE_EDGE_RIGHT = [193, 122, 196, 3, 51, 45] as const;
const NOSE_EDGE_LEFT = [417, 351, 419, 248, 281, 275] as const;
const NOSE_MIDLINE = [168, 6, 197, 195, 5, 4] as const;
/** Chin below the lower lip down to the oval. */
const CHIN = [32, 194, 201, 200, 421, 418, 262, 369, 400, 377, 152, 148, 176, 140] as const;
/** Side of the face from the temple to the jaw: the outer edge of the cheekbone contour. */
const SIDE_RIGHT = [127, 234, 93, 132] as const;
const SIDE_LEFT = [356, 454, 323, 361] as const;
const NOSE_TIP = 1;
/** Around each nostril opening (ala base, subnasale side): dark holes foundation must not lift. */
const NOSTRIL_RIGHT = [98, 240, 75, 60, 20, 242, 141, 97, 99] as const;
const NOSTRIL_LEFT = [327, 460, 305, 290, 250, 462, 370, 326, 328] as const;
/** Under-eye anchors: the upper lash line's middle, away from which the under-eye band grows. */
const EYE_RIGHT_TOP = 159;
const EYE_LEFT_TOP = 386;
/** Brow's lower edge, outer → inner (the brow loops' second half, reversed). */
const BROW_RIGHT_LOWER = [46, 53, 52, 65, 55] as const;
const BROW_LEFT_LOWER = [276, 283, 282, 295, 285] as const;
/**
 * The mesh's oval stops well below the hairline; foundation goes on up the forehead. Each upper oval
 * point moves away from the point between the brows (168) by this share of its distance.
 */
const FOREHEAD_RAISE: Record<number, number> = { 10: 0.3, 338: 0.3, 109: 0.3, 297: 0.25, 67: 0.25, 332: 0.2, 103: 0.2, 284: 0.12, 54: 0.12, 251: 0.05, 21: 0.05 };
const BETWEEN_BROWS = 168;
/** Temples: where lifted blush and the cheekbone highlight sweep to. */
const TEMPLE_RIGHT = 127;
const TEMPLE_LEFT = 356;

export type Point = readonly [number, number, ...number[]];
export type Polygon = Array<[number, number]>;

export const loop = (landmarks: ReadonlyArray<Point>, indices: readonly number[]): Array<[number, number]> =>
  indices.map((i) => [landmarks[i][0], landmarks[i][1]]);

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Inter-ocular distance (outer eye corners): the face's own length unit for feathers and offsets. */
export const interOcular = (landmarks: ReadonlyArray<Point>): number => dist(landmarks[EYE_RIGHT_OUTER], landmarks[EYE_LEFT_OUTER]);

/** Region between two polylines that share their end points: `a` forward, `b` backward. */
const band = (landmarks: ReadonlyArray<Point>, a: readonly number[], b: readonly number[]): Polygon => [
  ...loop(landmarks, a),
  ...loop(landmarks, [...b].reverse()),
];

/**
 * Eyeliner: a band along the upper lash line, thickened outwards (away from the eye) from a
 * hairline at the inner corner to `thickness` x eye width at the outer corner, with a short
 * upswept wing past the outer corner.
 */
export function eyeliner(landmarks: ReadonlyArray<Point>, upper: readonly number[], lower: readonly number[], thickness = 0.09, wing = 0.22): Polygon {
  const line = loop(landmarks, upper);
  const outer = line[0];
  const inner = line[line.length - 1];
  const eyeWidth = Math.hypot(inner[0] - outer[0], inner[1] - outer[1]);
  // "Up" for this eye: away from the lower lash line's middle.
  const lowMid = landmarks[lower[Math.floor(lower.length / 2)]];
  const ux = (inner[0] - outer[0]) / (eyeWidth || 1);
  const uy = (inner[1] - outer[1]) / (eyeWidth || 1);
  let nx = -uy;
  let ny = ux;
  const mid = line[Math.floor(line.length / 2)];
  if ((mid[0] - lowMid[0]) * nx + (mid[1] - lowMid[1]) * ny < 0) {
    nx = -nx;
    ny = -ny;
  }
  const n = line.length;
  const top: Polygon = line.map(([x, y], i) => {
    const t = 1 - i / (n - 1); // 1 at the outer corner, 0 at the inner
    const w = eyeWidth * thickness * (0.15 + 0.85 * t);
    return [x + nx * w, y + ny * w];
  });
  // Wing: out past the outer corner along the eye axis, lifted a little.
  const tip: [number, number] = [outer[0] - ux * eyeWidth * wing + nx * eyeWidth * wing * 0.45, outer[1] - uy * eyeWidth * wing + ny * eyeWidth * wing * 0.45];
  return [...line, ...top.reverse(), tip];
}

export type RegionName =
  | 'lipsOuter'
  | 'mouthOpening'
  | 'lips'
  | 'eyeRight'
  | 'eyeLeft'
  | 'eyes'
  | 'upperEyelidRight'
  | 'upperEyelidLeft'
  | 'upperEyelids'
  | 'lowerEyelidRight'
  | 'lowerEyelidLeft'
  | 'lowerEyelids'
  | 'eyeshadowRight'
  | 'eyeshadowLeft'
  | 'eyeshadow'
  | 'eyelinerRight'
  | 'eyelinerLeft'
  | 'eyeliner'
  | 'browRight'
  | 'browLeft'
  | 'brows'
  | 'cheekRight'
  | 'cheekLeft'
  | 'cheeks'
  | 'forehead'
  | 'noseBridge'
  | 'noseSides'
  | 'chin'
  | 'contour'
  | 'faceOval'
  | 'skin'
  | 'nostrils'
  | 'faceSkin'
  | 'underEyeRight'
  | 'underEyeLeft'
  | 'underEyes'
  | 'cheekLiftedRight'
  | 'cheekLiftedLeft'
  | 'cheeksLifted'
  | 'cheekboneRight'
  | 'cheekboneLeft'
  | 'cheekbones'
  | 'browBoneRight'
  | 'browBoneLeft'
  | 'browBones'
  | 'contourRight'
  | 'contourLeft';

/**
 * A band from `edge` outwards (or inwards, for negative `amount`): each edge point moved along the
 * direction away from its anchor point by `amount` times their distance.
 */
function offsetBand(lm: ReadonlyArray<Point>, edge: readonly number[], anchors: readonly number[], amount: number): Polygon {
  const inner = loop(lm, edge);
  const outer = edge.map((e, i): [number, number] => {
    const p = lm[e];
    const a = lm[anchors[Math.min(i, anchors.length - 1)]];
    return [p[0] + (p[0] - a[0]) * amount, p[1] + (p[1] - a[1]) * amount];
  });
  return [...inner, ...outer.reverse()];
}

/** Convex hull (monotone chain) of a few landmarks: a loop that does not depend on index order. */
function hull(lm: ReadonlyArray<Point>, indices: readonly number[]): Polygon {
  const pts = loop(lm, indices).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list: Polygon): Polygon => {
    const out: Polygon = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], p) <= 0) out.pop();
      out.push(p);
    }
    return out.slice(0, -1);
  };
  return [...half(pts), ...half([...pts].reverse())];
}

/**
 * A loop moved towards landmark `to` by `shift` of the way from its centroid, and scaled about its
 * centroid by `sx` along that direction and `sy` across it: lifted blush and the cheekbone
 * highlight are the cheek apple swept up towards the temple.
 */
function sweep(lm: ReadonlyArray<Point>, indices: readonly number[], to: number, shift: number, sx: number, sy: number): Polygon {
  const pts = loop(lm, indices);
  const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const dx = lm[to][0] - cx;
  const dy = lm[to][1] - cy;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  return pts.map(([x, y]): [number, number] => {
    const a = (x - cx) * ux + (y - cy) * uy;
    const b = -(x - cx) * uy + (y - cy) * ux;
    return [cx + dx * shift + a * sx * ux - b * sy * uy, cy + dy * shift + a * sx * uy + b * sy * ux];
  });
}

function raisedOval(lm: ReadonlyArray<Point>): Polygon {
  const [cx, cy] = lm[BETWEEN_BROWS];
  return FACE_OVAL.map((i): [number, number] => {
    const k = 1 + (FOREHEAD_RAISE[i] ?? 0);
    return [cx + (lm[i][0] - cx) * k, cy + (lm[i][1] - cy) * k];
  });
}

type Builder = (lm: ReadonlyArray<Point>) => Polygon[];

const single = (indices: readonly number[]): Builder => (lm) => [loop(lm, indices)];
const pair = (a: readonly number[], b: readonly number[]): Builder => (lm) => [loop(lm, a), loop(lm, b)];

const upperLid = (lash: readonly number[], ring: readonly number[]): Builder => (lm) => [band(lm, lash, ring)];
const eyeshadow = (lash: readonly number[], ring1: readonly number[], ring2: readonly number[]): Builder => (lm) => [
  // Lash line → up the inner corner (ring 1 end, then ring 2 end) → along under the brow → outer corners.
  [...loop(lm, lash), ...loop(lm, [ring1[ring1.length - 1]]), ...loop(lm, [...ring2].reverse()), ...loop(lm, [ring1[0]])],
];

const BUILDERS: Record<RegionName, Builder> = {
  lipsOuter: single(LIPS_OUTER),
  mouthOpening: single(LIPS_INNER),
  lips: pair(LIPS_OUTER, LIPS_INNER),
  eyeRight: single(EYE_RIGHT),
  eyeLeft: single(EYE_LEFT),
  eyes: pair(EYE_RIGHT, EYE_LEFT),
  upperEyelidRight: upperLid(EYE_RIGHT_UPPER, EYE_RIGHT_RING1_UPPER),
  upperEyelidLeft: upperLid(EYE_LEFT_UPPER, EYE_LEFT_RING1_UPPER),
  upperEyelids: (lm) => [...BUILDERS.upperEyelidRight(lm), ...BUILDERS.upperEyelidLeft(lm)],
  lowerEyelidRight: upperLid(EYE_RIGHT_LOWER, EYE_RIGHT_RING1_LOWER),
  lowerEyelidLeft: upperLid(EYE_LEFT_LOWER, EYE_LEFT_RING1_LOWER),
  lowerEyelids: (lm) => [...BUILDERS.lowerEyelidRight(lm), ...BUILDERS.lowerEyelidLeft(lm)],
  eyeshadowRight: eyeshadow(EYE_RIGHT_UPPER, EYE_RIGHT_RING1_UPPER, EYE_RIGHT_RING2_UPPER),
  eyeshadowLeft: eyeshadow(EYE_LEFT_UPPER, EYE_LEFT_RING1_UPPER, EYE_LEFT_RING2_UPPER),
  eyeshadow: (lm) => [...BUILDERS.eyeshadowRight(lm), ...BUILDERS.eyeshadowLeft(lm)],
  eyelinerRight: (lm) => [eyeliner(lm, EYE_RIGHT_UPPER, EYE_RIGHT_LOWER)],
  eyelinerLeft: (lm) => [eyeliner(lm, EYE_LEFT_UPPER, EYE_LEFT_LOWER)],
  eyeliner: (lm) => [...BUILDERS.eyelinerRight(lm), ...BUILDERS.eyelinerLeft(lm)],
  browRight: single(BROW_RIGHT),
  browLeft: single(BROW_LEFT),
  brows: pair(BROW_RIGHT, BROW_LEFT),
  cheekRight: single(CHEEK_RIGHT),
  cheekLeft: single(CHEEK_LEFT),
  cheeks: pair(CHEEK_RIGHT, CHEEK_LEFT),
  forehead: single(FOREHEAD),
  noseBridge: single(NOSE_BRIDGE),
  // Shade bands just outside the bridge edges, as wide again as the half-bridge.
  noseSides: (lm) => [offsetBand(lm, NOSE_EDGE_RIGHT, NOSE_MIDLINE, 1), offsetBand(lm, NOSE_EDGE_LEFT, NOSE_MIDLINE, 1)],
  chin: single(CHIN),
  // Under the cheekbones: from the side of the face a quarter of the way in towards the nose tip.
  contour: (lm) => [...BUILDERS.contourRight(lm), ...BUILDERS.contourLeft(lm)],
  faceOval: single(FACE_OVAL),
  // Even-odd: the oval with the eyes, brows and mouth as holes.
  skin: (lm) => [loop(lm, FACE_OVAL), loop(lm, EYE_RIGHT), loop(lm, EYE_LEFT), loop(lm, BROW_RIGHT), loop(lm, BROW_LEFT), loop(lm, LIPS_OUTER)],
  nostrils: (lm) => [hull(lm, NOSTRIL_RIGHT), hull(lm, NOSTRIL_LEFT)],
  // What foundation covers: the oval raised up the forehead, with the eyes, brows, lips and nostrils as holes.
  faceSkin: (lm) => [raisedOval(lm), ...BUILDERS.skin(lm).slice(1), ...BUILDERS.nostrils(lm)],
  // Under-eye (concealer): from the lower lid's edge down as far again from the upper lash line's middle.
  underEyeRight: (lm) => [offsetBand(lm, EYE_RIGHT_RING1_LOWER, [EYE_RIGHT_TOP], 0.7)],
  underEyeLeft: (lm) => [offsetBand(lm, EYE_LEFT_RING1_LOWER, [EYE_LEFT_TOP], 0.7)],
  underEyes: (lm) => [...BUILDERS.underEyeRight(lm), ...BUILDERS.underEyeLeft(lm)],
  // One side at a time too, so a renderer paints two small rects rather than one spanning the face.
  cheekLiftedRight: (lm) => [sweep(lm, CHEEK_RIGHT, TEMPLE_RIGHT, 0.3, 1.35, 0.7)],
  cheekLiftedLeft: (lm) => [sweep(lm, CHEEK_LEFT, TEMPLE_LEFT, 0.3, 1.35, 0.7)],
  cheeksLifted: (lm) => [...BUILDERS.cheekLiftedRight(lm), ...BUILDERS.cheekLiftedLeft(lm)],
  // Highlighter on the top of the cheekbone: a narrow strip above the apple, towards the temple.
  cheekboneRight: (lm) => [sweep(lm, CHEEK_RIGHT, TEMPLE_RIGHT, 0.45, 1.1, 0.35)],
  cheekboneLeft: (lm) => [sweep(lm, CHEEK_LEFT, TEMPLE_LEFT, 0.45, 1.1, 0.35)],
  cheekbones: (lm) => [...BUILDERS.cheekboneRight(lm), ...BUILDERS.cheekboneLeft(lm)],
  // Brow bone: between the brow's lower edge and the ring just under it, outer two thirds.
  browBoneRight: (lm) => [band(lm, BROW_RIGHT_LOWER, EYE_RIGHT_RING2_UPPER.slice(0, 5))],
  browBoneLeft: (lm) => [band(lm, BROW_LEFT_LOWER, EYE_LEFT_RING2_UPPER.slice(0, 5))],
  browBones: (lm) => [...BUILDERS.browBoneRight(lm), ...BUILDERS.browBoneLeft(lm)],
  contourRight: (lm) => [offsetBand(lm, SIDE_RIGHT, [NOSE_TIP], -0.25)],
  contourLeft: (lm) => [offsetBand(lm, SIDE_LEFT, [NOSE_TIP], -0.25)],
};

export const REGION_NAMES = Object.keys(BUILDERS) as RegionName[];

/** The region's loops in frame pixels (fill even-odd). */
export function regionPolygons(landmarks: ReadonlyArray<Point>, name: RegionName): Polygon[] {
  return BUILDERS[name](landmarks);
}

/** Axis-aligned box of a region's loops. */
export function regionBox(landmarks: ReadonlyArray<Point>, name: RegionName): { x: number; y: number; width: number; height: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const poly of regionPolygons(landmarks, name))
    for (const [x, y] of poly) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
