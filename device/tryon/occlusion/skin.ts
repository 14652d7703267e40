/**
 * Hair (a fringe, a lock across the cheek) over the skin that foundation, blush, contour and
 * highlighter paint: the mesh says nothing about it, so a colour model of this frame's skin, sampled
 * from the middle of the face (cheeks and nose bridge, where hair rarely falls), gates each pixel
 * by how unlike that skin it is. Lightness is allowed to vary the most (the face's own shading and
 * contour shadows are skin); hair differs in chroma and, mostly, by much more lightness.
 */
import { regionPolygons, type Point, type Polygon } from '../../vision/regions.ts';
import { boxBlur, fillPolygons, polygonBounds, type MaskRect } from '../raster.ts';
import { distance, ramp, sampleModel, type ColourModel } from './colour-model.ts';
import { srgbToLab, type LabPlane } from './lab-plane.ts';
import { f32 } from '../frame-arena.ts';

const SKIN_FLOOR = { L: 10, a: 3, b: 3 };
/** Normalised distance from the skin model: at `lo` still skin, at `hi` surely not. */
export const NOT_SKIN = { lo: 3, hi: 5 } as const;

export function faceSkinModel(lab: LabPlane, landmarks: ReadonlyArray<Point>): ColourModel | null {
  const polys = [...regionPolygons(landmarks, 'cheeks'), ...regionPolygons(landmarks, 'noseBridge')];
  const rect = polygonBounds(polys, 0, { width: lab.rect.x + lab.rect.width, height: lab.rect.y + lab.rect.height });
  // Cheeks and nose bridge do not overlap: the even-odd fill of all three is their union.
  return rect ? sampleModel(lab, { rect, polys }, SKIN_FLOOR) : null;
}

/**
 * The neighbourhood's not-skin share (lo..hi) from which a block counts as not skin whatever its own
 * colour (closedOverStrands). On a real ash-brown lock across the cheek (tests/tryon/occlusion-hair.test.ts)
 * 0.45..0.75 left the blush on the lock at mean ΔE2000 2.1; from 0.3 it is 0.
 */
export const STRANDS = { lo: 0.3, hi: 0.5 } as const;

/** The skin test is memoised per colour at 6 bits a channel (within a level or two of the pixel's own Lab). */
export const KEY_BITS = 6;
const KEYS = 1 << (3 * KEY_BITS);

/**
 * Per-colour memo of the skin test, reused from call to call: an entry is valid only under the
 * stamp of the skin model it was measured against, so nothing is cleared between frames. A keep
 * depends on the colour and the model only, so calls with the same model (the family's rect, then
 * a blush zone reaching past it, in one frame) share their entries.
 */
export interface SkinScratch {
  keep: Float32Array;
  /** The same test with the shaded zone's wider lightness spread (ShadedZone), measured with it. */
  keepShaded: Float32Array;
  stamp: Uint32Array;
  call: number;
  /** The model and the shaded zone's factor the current stamp belongs to. */
  model: ColourModel | null;
  darker: number;
  /** The closing's summed-area table (applySkinGate), grown as needed. */
  sums: Float64Array;
}

/**
 * Where skin darker than the model is still skin (under the eyes: dark circles, which concealer and
 * foundation are for, deeper and more common on deeper skin tones; gate.ts): the skin test's
 * lightness spread is `darker` times wider there on the darker side. Hair rarely falls there;
 * lashes and glasses frames still differ in chroma.
 */
export interface ShadedZone {
  polygons: Polygon[];
  /** How far past its polygons the zone reaches (px): the feather of the masks painted there. */
  reachPx: number;
  darker: number;
}

/**
 * The blocks of a grid (bw x bh blocks of 2 px from frame pixel (gx, gy)) near the zone's polygons:
 * `near` (over the box of blocks x, y, width, height) above 0.01 within `zone.reachPx`; filled and
 * box-blurred on the blocks around the polygons only.
 */
function shadedBlocks(zone: ShadedZone, gx: number, gy: number, bw: number, bh: number): (MaskRect & { near: Float32Array }) | null {
  const polys = zone.polygons.map((poly) => poly.map(([px, py]): [number, number] => [(px - gx) / 2, (py - gy) / 2]));
  const reach = Math.max(0, Math.round(zone.reachPx / 2));
  const box = polygonBounds(polys, reach + 1, { width: bw, height: bh });
  if (!box) return null;
  return { ...box, near: boxBlur(fillPolygons(polys, box), box.width, box.height, reach) };
}

export const newSkinScratch = (): SkinScratch => ({ keep: new Float32Array(0), keepShaded: new Float32Array(0), stamp: new Uint32Array(0), call: 0, model: null, darker: 1, sums: new Float64Array(0) });

/**
 * Multiplies `vis` (over `rect`) by how much each pixel looks like this face's skin. Evaluated once
 * per 2x2 block: the products gated here are diffuse (blush, contour, foundation), and the face's
 * largest regions would otherwise cost the most. A face has a few thousand distinct colours at this
 * resolution, so each is converted and measured once. `closingPx`: the radius of the closing over
 * hair strands (closedOverStrands), in pixels (under 1: none). `shaded`: blocks
 * whose centre lies in it are tested with its wider lightness spread (ShadedZone).
 */
export function applySkinGate(lab: LabPlane, skin: ColourModel, rect: MaskRect, vis: Float32Array, closingPx: number, scratch: SkinScratch = newSkinScratch(), shaded?: ShadedZone): void {
  if (scratch.keep.length !== KEYS) {
    scratch.keep = new Float32Array(KEYS);
    scratch.keepShaded = new Float32Array(KEYS);
    scratch.stamp = new Uint32Array(KEYS);
  }
  const darker = shaded?.darker ?? 1;
  if (scratch.model !== skin || scratch.darker !== darker) {
    scratch.model = skin;
    scratch.darker = darker;
    if (++scratch.call === 0xffffffff) {
      scratch.stamp.fill(0);
      scratch.call = 1;
    }
  }
  const { keep: keepOf, keepShaded: shadedOf, stamp, call } = scratch;
  const rgb = lab.rgb();
  const probe = new Float32Array(3);
  const shift = 8 - KEY_BITS;
  const half = 1 << (shift - 1);
  /** The colour bin's centre of the pixel at rgb[o], into `probe` (CIELAB). */
  const binCentreLab = (o: number) => srgbToLab(((rgb[o] >> shift) << shift) | half, ((rgb[o + 1] >> shift) << shift) | half, ((rgb[o + 2] >> shift) << shift) | half, probe, 0);
  const { width, height } = rect;
  const plane = lab.rect;
  const x0 = Math.max(0, plane.x - rect.x);
  const y0 = Math.max(0, plane.y - rect.y);
  const x1 = Math.min(width, plane.x + plane.width - rect.x);
  const y1 = Math.min(height, plane.y + plane.height - rect.y);
  const bw = Math.ceil((x1 - x0) / 2);
  const bh = Math.ceil((y1 - y0) / 2);
  if (bw <= 0 || bh <= 0) return;
  const keeps = f32(bw * bh);
  const { x: sx, y: sy, width: sw, height: sh, near } = (shaded && shadedBlocks(shaded, rect.x + x0, rect.y + y0, bw, bh)) || { x: 0, y: 0, width: 0, height: 0, near: keeps };
  // The closing over hair strands: a summed-area table of the blocks' not-skin (1 − keep), built in
  // the same pass; sums[(by + 1) * stride + bx + 1] totals blocks [0..bx] x [0..by].
  // In blocks of 2 px.
  const r = Math.round(closingPx / 2);
  const stride = bw + 1;
  if (r >= 1 && scratch.sums.length < stride * (bh + 1)) scratch.sums = new Float64Array(stride * (bh + 1));
  const sums = scratch.sums;
  if (r >= 1) sums.fill(0, 0, stride);
  for (let by = 0, y = y0; y < y1; y += 2, by++) {
    let o = ((rect.y + y - plane.y) * plane.width + rect.x + x0 - plane.x) * 3;
    let row = 0;
    const s0 = (by + 1) * stride;
    // This row of the shaded zone's box, if it crosses it: near[shadeRow + bx] for bx in sx..sx + sw - 1.
    const inShade = by >= sy && by < sy + sh;
    const shadeRow = (by - sy) * sw - sx;
    if (r >= 1) sums[s0] = 0;
    for (let bx = 0, x = x0; x < x1; x += 2, o += 6, bx++) {
      const key = ((rgb[o] >> shift) << (2 * KEY_BITS)) | ((rgb[o + 1] >> shift) << KEY_BITS) | (rgb[o + 2] >> shift);
      if (stamp[key] !== call) {
        stamp[key] = call;
        binCentreLab(o);
        keepOf[key] = 1 - ramp(distance(skin, probe, 0), NOT_SKIN.lo, NOT_SKIN.hi);
        // The shaded test is measured when a block in the zone first asks for it (most bins never are).
        shadedOf[key] = -1;
      }
      // The memo's float32 values, first block or not: the same keep for the bin whichever call sees it first.
      const b = by * bw + bx;
      let keep = keepOf[key];
      if (inShade && bx >= sx && bx < sx + sw && near[shadeRow + bx] > 0.01) {
        if (shadedOf[key] < 0) {
          binCentreLab(o);
          shadedOf[key] = 1 - ramp(distance(skin, probe, 0, darker), NOT_SKIN.lo, NOT_SKIN.hi);
        }
        keep = shadedOf[key];
      }
      keeps[b] = keep;
      if (r >= 1) {
        row += 1 - keep;
        sums[s0 + bx + 1] = sums[s0 - stride + bx + 1] + row;
      }
    }
  }
  for (let by = 0, y = y0; y < y1; y += 2, by++) {
    // The rows of blocks within r of this one (those in the grid).
    const top = Math.max(0, by - r) * stride;
    const bottom = (Math.min(bh - 1, by + r) + 1) * stride;
    const rows = (bottom - top) / stride;
    for (let bx = 0, x = x0; x < x1; x += 2, bx++) {
      let keep = keeps[by * bw + bx];
      if (r >= 1 && keep > 0) keep = closedOverStrands(keep, sums, top, bottom, rows, Math.max(0, bx - r), Math.min(bw - 1, bx + r) + 1);
      if (keep === 1) continue;
      const i = y * width + x;
      if (x + 1 < x1 && y + 1 < y1) {
        // A whole 2x2 block (all but the rect's last odd row or column).
        vis[i] *= keep;
        vis[i + 1] *= keep;
        vis[i + width] *= keep;
        vis[i + width + 1] *= keep;
        continue;
      }
      vis[i] *= keep;
      if (x + 1 < x1) vis[i + 1] *= keep;
      if (y + 1 < y1) vis[i + width] *= keep;
    }
  }
}

/**
 * A lock of hair is strands, and its lightest ones come within the skin's spread: a block is not
 * skin either when enough of its neighbourhood (the blocks within the closing's radius that lie in
 * the grid: rows top..bottom of the summed-area table, columns left..right) is not (a closing, as
 * the lips' gate does for a finger's lip-coloured creases): keep = min(keep, 1 − ramp(not-skin share, STRANDS)).
 */
function closedOverStrands(keep: number, sums: Float64Array, top: number, bottom: number, rows: number, left: number, right: number): number {
  const share = (sums[bottom + right] - sums[bottom + left] - sums[top + right] + sums[top + left]) / (rows * (right - left));
  return share > STRANDS.lo ? Math.min(keep, 1 - ramp(share, STRANDS.lo, STRANDS.hi)) : keep;
}
