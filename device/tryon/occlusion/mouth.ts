/**
 * What on the lips is not lip: the mouth interior and whatever lies over the lips.
 *
 * - The inner-lip polygon (the mesh's mouth opening) is never painted.
 * - A colour model of this frame's lips, sampled from the band halfway between the outer and the
 *   inner lip line (where the mesh is surely on lip), says how unlike the lip surface each pixel
 *   is. Teeth (bright, grey), the cavity (dark) and a tongue (pinker, brighter, wet) that cross the
 *   lip line are unlike it AND connected to the opening: a flood from the opening through unlike
 *   pixels finds them, also where the mesh's inner line sits a few pixels off (the shape gate).
 * - A finger or hand on closed lips is not connected to the opening; it is told by looking like
 *   the skin around the mouth (sampled from a ring just outside the lips) and unlike the lips.
 *   Band pixels that look like that skin are left out of the lip model, so a finger lying across
 *   the band does not become "lip"; a closing fills the few lip-coloured pixels inside a finger.
 * - A tongue stuck out over the whole lower lip (or a mesh whose upper band lies on the teeth)
 *   would BE the band's median, and so "lip". When the upper and lower halves of the band disagree
 *   in colour, the half that looks like the mouth opening (tongue, teeth) is the covered one: the
 *   lip model is taken from the other half alone.
 */
import { LIPS_INNER, LIPS_OUTER, interOcular, loop, type Point, type Polygon } from '../../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type MaskRect } from '../raster.ts';
import { distance, ramp, sampleModel, type ColourModel } from './colour-model.ts';
import type { LabPlane } from './lab-plane.ts';
import { f32, i32, u8 } from '../frame-arena.ts';

/** Lip band used for the lip model: from 30 % to 70 % of the way from the outer to the inner line. */
const LIP_BAND = [0.3, 0.7] as const;
/** Skin ring used for the skin model: the outer lip line scaled about the mouth centre. */
const SKIN_RING = [1.25, 1.55] as const;
/**
 * The halves of the band disagree when their chromas (a, b: lightness differs between a shaded
 * upper and a lit lower lip) are this many pooled spreads apart; one half is then the covered one
 * if it is nearer the opening's colour than the other by this margin (spreads).
 */
const HALVES_DISAGREE = 2.5;
const COVERED_MARGIN = 1.5;
/**
 * A half of the band can only be covered by what fills the mouth when the mouth is open: the inner
 * lip loop's area at least this share of the outer's (open-mouth photos 0.29-0.56; a relaxed,
 * barely parted mouth 0.17, whose shaded upper lip otherwise flipped the rule frame to frame and
 * left half the lips unpainted on some frames).
 */
const OPEN_FOR_COVER = 0.25;
/** Both lip loops run corner → lower lip → this index (the other corner) → upper lip. */
const OTHER_CORNER = 10;
/** Spread floors: lips are shaded (upper lip darker), so lightness is allowed to vary most. */
const LIP_FLOOR = { L: 6, a: 3, b: 3 };
const SKIN_FLOOR = { L: 8, a: 3, b: 3 };
/** Lip-band pixels within this normalised distance of the skin model are left out of the lip model. */
const SKIN_ON_BAND = 1.5;
/** Normalised distance from the lip model: at `lo` still lip, at `hi` surely not. */
const NOT_LIP = { lo: 2.5, hi: 4 } as const;
/** The flood from the opening goes through pixels at least this unlike the lips. */
const FLOOD_MIN = 0.25;
/** A pixel is skin-like when closer to the skin model than to the lip model by this margin (lo..hi) ... */
const SKIN_MARGIN = { lo: 0.5, hi: 2 } as const;
/** ... at least this far from the lip model (lo..hi): a pixel near the lip colour stays lip ... */
const SKIN_OFF_LIP = { lo: 1.5, hi: 2.5 } as const;
/** ...and near the skin model itself (specular highlights on the lips are near neither). */
const SKIN_NEAR = { lo: 2.5, hi: 4 } as const;
/** Squared lip distance at or below which a pixel is neither not-lip nor skin-like (both ramps start above it). */
const LIP_NEAR2 = Math.min(NOT_LIP.lo, SKIN_OFF_LIP.lo) ** 2;
/** Closing radius, as a fraction of the inter-ocular distance, and the neighbourhood share that fills a gap. */
const CLOSING = 0.015;
const BLOB = { lo: 0.45, hi: 0.75 } as const;
/**
 * A tongue over the lip line: on an open mouth, pixels redder than the lips (CIELAB a above the lip
 * model's by `lo`..`hi` spreads) that are connected to the opening through such pixels, no further
 * from it than this share of the mouth's width (corner to corner), are tongue. A tongue's shaded
 * side or tip lies within the lip model's lightness spread (the band holds shaded and lit lip) but
 * is redder than the lips around it.
 */
const REDDER = { lo: 1, hi: 2 } as const;
const TONGUE_REACH = 0.08;
/**
 * With the lower lip covered (a tongue stuck out over it), the tongue's shaded sides reach the
 * mouth corners with the lips' redness and lightness but a pinker hue: pixels whose hue angle
 * (CIELAB a, b) lies this many degrees (lo..hi) below the lip model's also pass, at chroma at
 * least `minChroma`, out to LOWER_COVERED_REACH mouth widths.
 */
const PINKER = { lo: 3, hi: 6, minChroma: 10 } as const;
const LOWER_COVERED_REACH = 0.15;

const lerpLoop = (a: Polygon, b: Polygon, t: number): Polygon => a.map(([x, y], i) => [x + (b[i][0] - x) * t, y + (b[i][1] - y) * t]);

function scaleLoop(poly: Polygon, s: number): Polygon {
  const cx = poly.reduce((sum, p) => sum + p[0], 0) / poly.length;
  const cy = poly.reduce((sum, p) => sum + p[1], 0) / poly.length;
  return poly.map(([x, y]) => [cx + (x - cx) * s, cy + (y - cy) * s]);
}

export interface MouthModels {
  lip: ColourModel | null;
  skin: ColourModel | null;
  /** The mouth is open enough for a tongue or teeth to fill it (inner loop area >= OPEN_FOR_COVER of the outer's). */
  open?: boolean;
  /** The lower half of the lip band is covered by what fills the opening (a tongue over the lower lip): the lip model is the upper half's. */
  lowerCovered?: boolean;
}

/** Colour models of this frame's lips and of the skin around them. */
export function mouthModels(lab: LabPlane, landmarks: ReadonlyArray<Point>): MouthModels {
  const outer = loop(landmarks, LIPS_OUTER);
  const inner = loop(landmarks, LIPS_INNER);
  const sampled = (polys: Polygon[], floor: typeof LIP_FLOOR, exclude?: { model: ColourModel; within: number }) => {
    const rect = polygonBounds(polys, 1, { width: lab.rect.x + lab.rect.width, height: lab.rect.y + lab.rect.height });
    return rect ? sampleModel(lab, { rect, polys }, floor, exclude) : null;
  };
  const skin = sampled([scaleLoop(outer, SKIN_RING[1]), scaleLoop(outer, SKIN_RING[0])], SKIN_FLOOR);
  // Band pixels that look like the skin around the mouth are a finger (or the mesh off the lips): not lip.
  const exclude = skin ? { model: skin, within: SKIN_ON_BAND } : undefined;
  const from = lerpLoop(outer, inner, LIP_BAND[0]);
  const to = lerpLoop(outer, inner, LIP_BAND[1]);
  const lip = sampled([from, to], LIP_FLOOR, exclude);
  const openness = Math.abs(signedArea(inner)) / Math.max(1e-6, Math.abs(signedArea(outer)));
  if (openness < OPEN_FOR_COVER) return { lip, skin, open: false }; // nothing can cover a half: no half models to sample
  const upper = sampled([halfBand(from, to, false)], LIP_FLOOR, exclude);
  const lower = sampled([halfBand(from, to, true)], LIP_FLOOR, exclude);
  const uncovered = uncoveredLip(lip, upper, lower, sampled([inner], LIP_FLOOR));
  return { lip: uncovered, skin, open: true, lowerCovered: uncovered !== null && uncovered === upper };
}

/** The band between loops `from` and `to` on the lower (corner → lower lip → corner) or the upper side. */
function halfBand(from: Polygon, to: Polygon, lower: boolean): Polygon {
  const n = from.length;
  const idx = Array.from({ length: OTHER_CORNER + 1 }, (_, k) => (lower ? k : (OTHER_CORNER + k) % n));
  return [...idx.map((i) => from[i]), ...idx.reverse().map((i) => to[i])];
}

/** Shoelace area of a closed polygon (sign by winding). */
function signedArea(poly: Polygon): number {
  let sum = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) sum += poly[j][0] * poly[i][1] - poly[i][0] * poly[j][1];
  return sum / 2;
}

/** Chroma distance (a, b) between two models in pooled spreads. */
function chromaApart(p: ColourModel, q: ColourModel): number {
  const da = (p.a - q.a) / Math.sqrt((p.sa * p.sa + q.sa * q.sa) / 2);
  const db = (p.b - q.b) / Math.sqrt((p.sb * p.sb + q.sb * q.sb) / 2);
  return Math.hypot(da, db);
}

/** The whole band's model, or one half's when the other half is covered by what fills the opening. */
function uncoveredLip(band: ColourModel | null, upper: ColourModel | null, lower: ColourModel | null, opening: ColourModel | null): ColourModel | null {
  if (!band || !upper || !lower || !opening || chromaApart(upper, lower) < HALVES_DISAGREE) return band;
  const upperToOpening = chromaApart(upper, opening);
  const lowerToOpening = chromaApart(lower, opening);
  if (lowerToOpening + COVERED_MARGIN < upperToOpening) return upper;
  if (upperToOpening + COVERED_MARGIN < lowerToOpening) return lower;
  return band;
}

/** Pixels of `rect` reachable from `seed` (>= 0.5) through `open` pixels (> FLOOD_MIN), 4-connected. */
function flood(seed: Float32Array, open: Float32Array, width: number): Uint8Array {
  const n = seed.length;
  const reached = u8(n);
  // Each pixel is pushed at most once.
  const stack = i32(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    if (seed[i] >= 0.5) {
      reached[i] = 1;
      stack[top++] = i;
    }
  }
  while (top > 0) {
    const i = stack[--top];
    const x = i % width;
    if (x > 0 && !reached[i - 1] && open[i - 1] > FLOOD_MIN) {
      reached[i - 1] = 1;
      stack[top++] = i - 1;
    }
    if (x < width - 1 && !reached[i + 1] && open[i + 1] > FLOOD_MIN) {
      reached[i + 1] = 1;
      stack[top++] = i + 1;
    }
    if (i >= width && !reached[i - width] && open[i - width] > FLOOD_MIN) {
      reached[i - width] = 1;
      stack[top++] = i - width;
    }
    if (i + width < n && !reached[i + width] && open[i + width] > FLOOD_MIN) {
      reached[i + width] = 1;
      stack[top++] = i + width;
    }
  }
  return reached;
}

/**
 * The tongue rule (REDDER, PINKER): raises `occluded` (over `rect`) on the pixels that are redder
 * (or, with the lower lip covered, pinker) than the lip model, reached from the opening (`hole` >=
 * 0.5) through such pixels breadth first, at most the rule's reach away. Only the pixels on the
 * flood's frontier are looked at (a few hundred on an open mouth), not the whole rect.
 */
function tongueOverLips(
  lab: LabPlane,
  lip: ColourModel,
  lowerCovered: boolean,
  landmarks: ReadonlyArray<Point>,
  rect: MaskRect,
  inPlane: MaskRect,
  hole: Float32Array,
  occluded: Float32Array,
): void {
  const corners = loop(landmarks, LIPS_OUTER);
  const width = Math.hypot(corners[OTHER_CORNER][0] - corners[0][0], corners[OTHER_CORNER][1] - corners[0][1]);
  const reach = Math.round((lowerCovered ? LOWER_COVERED_REACH : TONGUE_REACH) * width);
  // Hue below the lip's by d degrees: the cross and dot products of (a, b) with the lip's hue direction give tan(d).
  const hue = Math.atan2(lip.b, lip.a);
  const [sinH, cosH] = [Math.sin(hue), Math.cos(hue)];
  const tanLo = Math.tan((PINKER.lo * Math.PI) / 180);
  const tanHi = Math.tan((PINKER.hi * Math.PI) / 180);
  const minChroma2 = PINKER.minChroma * PINKER.minChroma;
  const data = lab.data();
  const plane = lab.rect;
  const w = rect.width;
  const x0 = inPlane.x - rect.x;
  const y0 = inPlane.y - rect.y;
  const tongueness = (i: number): number => {
    const x = i % w;
    const y = (i - x) / w;
    if (x < x0 || y < y0 || x >= x0 + inPlane.width || y >= y0 + inPlane.height) return 0;
    const o = ((rect.y + y - plane.y) * plane.width + rect.x + x - plane.x) * 3;
    const a = data[o + 1];
    const b = data[o + 2];
    let t = ramp((a - lip.a) / lip.sa, REDDER.lo, REDDER.hi);
    if (lowerCovered && a * a + b * b >= minChroma2) {
      const dot = a * cosH + b * sinH;
      if (dot > 0) t = Math.max(t, ramp((a * sinH - b * cosH) / dot, tanLo, tanHi));
    }
    return t;
  };
  const n = hole.length;
  // 1: reached (queued), 2: looked at and not tongue.
  const state = u8(n);
  const queue = i32(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    if (hole[i] >= 0.5) {
      state[i] = 1;
      queue[tail++] = i;
      // The opening's own edge pixels (partly outside the hole) count for the closing below.
      if (hole[i] < 1) occluded[i] = Math.max(occluded[i], tongueness(i));
    }
  }
  let head = 0;
  for (let step = 1; step <= reach && head < tail; step++) {
    const end = tail;
    for (; head < end; head++) {
      const i = queue[head];
      const x = i % w;
      for (let k = 0; k < 4; k++) {
        const j = k === 0 ? (x > 0 ? i - 1 : -1) : k === 1 ? (x < w - 1 ? i + 1 : -1) : k === 2 ? i - w : i + w;
        if (j < 0 || j >= n || state[j]) continue;
        const t = tongueness(j);
        if (t <= FLOOD_MIN) {
          state[j] = 2;
          continue;
        }
        state[j] = 1;
        queue[tail++] = j;
        if (t > occluded[j]) occluded[j] = t;
      }
    }
  }
}

/** The part of `rect` that lies in the plane (null when none does). */
export function withinPlane(lab: LabPlane, rect: MaskRect): MaskRect | null {
  const p = lab.rect;
  const x0 = Math.max(rect.x, p.x);
  const y0 = Math.max(rect.y, p.y);
  const x1 = Math.min(rect.x + rect.width, p.x + p.width);
  const y1 = Math.min(rect.y + rect.height, p.y + p.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/**
 * Multiplies `vis` (over `rect`) by how visible the lip surface is at each pixel. `settle` (the
 * track's temporal hysteresis, temporal.ts) may revise the colour gate's verdict before it is
 * applied; the inner-lip hole is never revised.
 */
export function applyMouthGate(
  lab: LabPlane,
  landmarks: ReadonlyArray<Point>,
  models: MouthModels,
  rect: MaskRect,
  vis: Float32Array,
  settle?: (seen: Float32Array) => void,
): void {
  const hole = fillPolygons([loop(landmarks, LIPS_INNER)], rect);
  for (let i = 0; i < vis.length; i++) vis[i] *= 1 - Math.min(1, hole[i]);
  const { lip, skin } = models;
  const inPlane = withinPlane(lab, rect);
  if (!lip || !inPlane) return;
  lab.ensure(inPlane);
  const notLip = f32(vis.length);
  const skinLike = f32(vis.length);
  const data = lab.data();
  const plane = lab.rect;
  for (let y = inPlane.y - rect.y; y < inPlane.y + inPlane.height - rect.y; y++) {
    let o = ((rect.y + y - plane.y) * plane.width + inPlane.x - plane.x) * 3;
    let i = y * rect.width + inPlane.x - rect.x;
    for (let x = 0; x < inPlane.width; x++, o += 3, i++) {
      // Most of the rect is lip: within SKIN_OFF_LIP.lo of the lip model both verdicts are 0 (the
      // buffers' own zeros), told from the squared distance without the square root.
      const dL = (data[o] - lip.L) / lip.sL;
      const da = (data[o + 1] - lip.a) / lip.sa;
      const db = (data[o + 2] - lip.b) / lip.sb;
      const d2 = dL * dL + da * da + db * db;
      if (d2 <= LIP_NEAR2) continue;
      const dLip = Math.sqrt(d2);
      notLip[i] = ramp(dLip, NOT_LIP.lo, NOT_LIP.hi);
      if (skin) {
        const dSkin = distance(skin, data, o);
        const offLip = ramp(dLip, SKIN_OFF_LIP.lo, SKIN_OFF_LIP.hi);
        skinLike[i] = offLip * ramp(dLip - dSkin, SKIN_MARGIN.lo, SKIN_MARGIN.hi) * (1 - ramp(dSkin, SKIN_NEAR.lo, SKIN_NEAR.hi));
      }
    }
  }
  const interior = flood(hole, notLip, rect.width);
  const occluded = f32(vis.length);
  for (let i = 0; i < vis.length; i++) occluded[i] = Math.max(interior[i] ? notLip[i] : 0, skinLike[i]);
  if (models.open) tongueOverLips(lab, lip, models.lowerCovered === true, landmarks, rect, inPlane, hole, occluded);
  // Closing: a finger or a row of teeth is a blob; its few lip-coloured pixels (a pink knuckle
  // crease, a reflection) are occluded when most of their neighbourhood is.
  const around = boxBlur(occluded, rect.width, rect.height, Math.max(1, interOcular(landmarks) * CLOSING));
  // The colour gate's verdict (1 = lip surface seen), in place of `occluded`.
  const seen = occluded;
  for (let i = 0; i < vis.length; i++) seen[i] = 1 - Math.max(occluded[i], ramp(around[i], BLOB.lo, BLOB.hi));
  settle?.(seen);
  for (let i = 0; i < vis.length; i++) vis[i] *= seen[i];
}
