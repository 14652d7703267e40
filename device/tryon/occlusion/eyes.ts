/**
 * The eyes' own surfaces never take eyeshadow or liner: the eye opening (between the lash lines)
 * is a hard hole, and because the mesh's lash lines may sit a few pixels off, a band around the
 * opening is also gated by colour: sclera is brighter and greyer than the lid skin, and the iris
 * (its circle from the iris model, when it runs) is cut out where it meets the opening.
 */
import type { Iris, IrisPair } from '../../vision/iris.ts';
import { EYE_LEFT, EYE_RIGHT, interOcular, loop, type Point, type Polygon } from '../../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type MaskRect } from '../raster.ts';
import { ramp, type ColourModel } from './colour-model.ts';
import type { LabPlane } from './lab-plane.ts';
import { f32 } from '../frame-arena.ts';

/** Width of the band around the opening gated by colour, as a fraction of the inter-ocular distance. */
const BAND = 0.04;
/** Sclera: lighter than the lid skin by this many Lab L units (lo..hi) ... */
const SCLERA_LIGHTER = { lo: 6, hi: 14 } as const;
/** ... and with at most this chroma relative to the lid skin's (lo..hi of the ratio). */
const SCLERA_GREYER = { lo: 0.55, hi: 0.8 } as const;
/** The iris circle, slightly enlarged to cover its dark limbal ring. */
const IRIS_SCALE = 1.1;

function irisCoverage(iris: Iris, rect: MaskRect, out: Float32Array): void {
  const r = iris.radius * IRIS_SCALE;
  // Only the circle's box: coverage is 0 farther than r + 0.5 from the centre.
  const reach = r + 1;
  const [cx, cy] = iris.center;
  const x0 = Math.max(0, Math.floor(cx - reach - rect.x));
  const x1 = Math.min(rect.width, Math.ceil(cx + reach - rect.x));
  const y0 = Math.max(0, Math.floor(cy - reach - rect.y));
  const y1 = Math.min(rect.height, Math.ceil(cy + reach - rect.y));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const d = Math.hypot(rect.x + x + 0.5 - iris.center[0], rect.y + y + 0.5 - iris.center[1]);
      out[y * rect.width + x] = Math.max(out[y * rect.width + x], ramp(r + 0.5 - d, 0, 1));
    }
  }
}

/**
 * Multiplies `vis` (over `rect`) by how visible lid skin (not eyeball) is at each pixel. Everything
 * here happens within reach of the openings: only each opening's own box grown by the band is
 * rasterised and read (the family's rect reaches up to the brows, and one box around both eyes
 * would hold the bridge of the nose between them). The two boxes never meet on a face: the eyes
 * are an inter-ocular distance apart, the band a few hundredths of it.
 */
export function applyEyeGate(
  lab: LabPlane,
  landmarks: ReadonlyArray<Point>,
  lid: ColourModel | null,
  iris: IrisPair | undefined,
  rect: MaskRect,
  vis: Float32Array,
): void {
  const radius = Math.max(1, Math.round(interOcular(landmarks) * BAND));
  const openings = [loop(landmarks, EYE_RIGHT), loop(landmarks, EYE_LEFT)];
  const limit = { width: rect.x + rect.width, height: rect.y + rect.height };
  // Past radius + 1 of an opening the blurred band is exactly 0: nothing there is gated.
  const reaches = openings.map((o) => polygonBounds([o], radius + 2, limit));
  const [r, l] = reaches;
  // A face turned far enough to bring the boxes together is gated in one box (no pixel twice).
  if (r && l && r.x < l.x + l.width && l.x < r.x + r.width && r.y < l.y + l.height && l.y < r.y + r.height) {
    eyeBand(lab, openings, polygonBounds(openings, radius + 2, limit)!, radius, lid, iris, rect, vis);
    return;
  }
  for (const [k, reach] of reaches.entries()) if (reach) eyeBand(lab, [openings[k]], reach, radius, lid, iris, rect, vis);
}

/** The gate within `reach` (the openings' box grown by the band, in the frame) where it meets `rect`. */
function eyeBand(
  lab: LabPlane,
  openings: Polygon[],
  reach: MaskRect,
  radius: number,
  lid: ColourModel | null,
  iris: IrisPair | undefined,
  rect: MaskRect,
  vis: Float32Array,
): void {
  const x0 = Math.max(reach.x, rect.x);
  const y0 = Math.max(reach.y, rect.y);
  const sub = { x: x0, y: y0, width: reach.x + reach.width - x0, height: reach.y + reach.height - y0 };
  if (sub.width <= 0 || sub.height <= 0) return;
  const n = sub.width * sub.height;
  const cover = fillPolygons(openings, sub);
  const near = boxBlur(cover, sub.width, sub.height, radius);
  const circle = iris ? f32(n) : null;
  if (iris && circle) {
    irisCoverage(iris.right, sub, circle);
    irisCoverage(iris.left, sub, circle);
  }
  const lidChroma = lid ? Math.hypot(lid.a, lid.b) : 0;
  const data = lab.data();
  for (let y = 0; y < sub.height; y++) {
    const row = (sub.y - rect.y + y) * rect.width + sub.x - rect.x;
    for (let x = 0; x < sub.width; x++) {
      const i = y * sub.width + x;
      const v = row + x;
      vis[v] *= 1 - Math.min(1, cover[i]);
      if (near[i] <= 0.02) continue;
      // Where the iris circle meets the opening and the band around it: the lid above it stays paintable.
      if (circle) vis[v] *= 1 - circle[i];
      if (!lid || vis[v] === 0 || !lab.has(sub.x + x, sub.y + y)) continue;
      const o = lab.offset(sub.x + x, sub.y + y);
      const lighter = ramp(data[o] - lid.L, SCLERA_LIGHTER.lo, SCLERA_LIGHTER.hi);
      // sqrt, not Math.hypot: the same chroma to well within a float32, at a fraction of the cost per pixel.
      const greyer = 1 - ramp(Math.sqrt(data[o + 1] * data[o + 1] + data[o + 2] * data[o + 2]) / Math.max(1, lidChroma), SCLERA_GREYER.lo, SCLERA_GREYER.hi);
      vis[v] *= 1 - lighter * greyer;
    }
  }
}
