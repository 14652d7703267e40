/**
 * Hair colour from the person segmentation. Hair = the person mask around and above the face,
 * outside the face oval, that looks like neither the shopper's skin nor (below the chin) anything
 * but their hair: two colour models in normalised chroma + luminance, the skin's from the face skin
 * and the hair's from the crown (person pixels above the brows and straight above the face, off
 * the face, not skin-like: beside the head the segmentation may hold a bystander's hair). The
 * segmentation does not tell people apart, so only hair connected to that crown is the shopper's.
 * The face is the mesh's own oval, not the gated skin mask (whose eye and mouth holes are not hair).
 * The weights are computed at half resolution (the segmentation is 256x256 anyway), softened, and
 * brought back to frame resolution as a coverage mask; the shade is laid with the shared blend
 * (paint.ts), which keeps the hair's own luminance detail (strands, shine, shadow).
 * Styles: full, or balayage: roots natural, the colour growing towards the ends.
 * No person mask (segmentation not run yet on this frame) = nothing drawn.
 */
import type { Frame } from '../../core/frame.ts';
import { FACE_OVAL, loop, regionBox, type Point } from '../../vision/regions.ts';
import type { PersonMask } from '../../vision/segmentation.ts';
import { STYLE_SCHEMAS } from '../catalog/schema.ts';
import { hexToLinear } from '../colour.ts';
import { boxBlur, fillPolygons, type CoverageMask, type MaskRect } from '../raster.ts';
import { MATERIALS } from './material.ts';
import { paint } from './paint.ts';
import type { CategoryRenderer, RenderContext } from './renderer.ts';

/** Search area around the face oval, in face widths (sides) and heights (above, below). */
const SIDE = 0.6;
const ABOVE = 0.75;
const BELOW = 0.5;
/** Person probability (0..255) from which a pixel counts as the shopper. */
const PERSON = 128;
/** The crown is sampled only where the segmentation is sure (its soft edge runs onto the background). */
const SURE_PERSON = 240;
/** Colour-model spreads below which a model's own variation is not trusted (chroma, log-luminance). */
const MIN_CHROMA_SD = 0.015;
const MIN_LUM_SD = 0.25;
/**
 * The hair models' floors: the crown they are sampled from is lit differently from the lengths
 * (face-api sample6: a cool crown under a window over warm brown lengths), and an even crown alone
 * would make them too narrow to reach the lengths. A blonde bystander's hair touching the shopper's
 * (sample4) stays out at these floors.
 */
const HAIR_MIN_CHROMA_SD = 0.045;
const HAIR_MIN_LUM_SD = 0.5;
const SCALE = 2;
/** The crown: above the brows, within the face oval's width narrowed by this share on each side. */
const CROWN_INSET = 0.15;
/**
 * Hair score (0..1, after both passes) through which the crown's hair connects to the rest; the
 * score becomes coverage rising from there to full at SURE (the scores multiply two likenesses and
 * the person probability, so surely-hair strands score well under 1).
 */
const CONNECTED = 0.1;
const SURE = 0.3;

interface ColourModel {
  r: number;
  g: number;
  l: number;
  sdC: number;
  sdL: number;
}

/** Normalised chroma and log luminance of an 8-bit RGB pixel. */
function features(data: Uint8Array, p: number, out: Float32Array): void {
  const r = data[p] + 1;
  const g = data[p + 1] + 1;
  const b = data[p + 2] + 1;
  const sum = r + g + b;
  out[0] = r / sum;
  out[1] = g / sum;
  out[2] = Math.log(sum);
}

class ModelBuilder {
  #n = 0;
  #s = new Float64Array(3);
  #ss = new Float64Array(3);
  add(f: Float32Array): void {
    this.#n++;
    for (let k = 0; k < 3; k++) {
      this.#s[k] += f[k];
      this.#ss[k] += f[k] * f[k];
    }
  }
  get count(): number {
    return this.#n;
  }
  build(minChromaSd = MIN_CHROMA_SD, minLumSd = MIN_LUM_SD): ColourModel {
    const mean = (k: number) => this.#s[k] / this.#n;
    const sd = (k: number) => Math.sqrt(Math.max(0, this.#ss[k] / this.#n - mean(k) ** 2));
    return { r: mean(0), g: mean(1), l: mean(2), sdC: Math.max(minChromaSd, Math.hypot(sd(0), sd(1))), sdL: Math.max(minLumSd, sd(2)) };
  }
}

/**
 * 0..1: how well `f` fits `m` (a Gaussian in chroma, looser in luminance: hair has highlights and
 * shadows). A pixel darker than the model's mean gets a wider chroma tolerance: its chroma is
 * noisier and shadowed strands are warmer than lit ones.
 */
function likeness(m: ColourModel, f: Float32Array, spread: number): number {
  const dark = Math.exp(0.5 * Math.max(0, m.l - f[2]));
  const dc = Math.hypot(f[0] - m.r, f[1] - m.g) / (m.sdC * spread * dark);
  const dl = (f[2] - m.l) / (m.sdL * spread * 1.5);
  return Math.exp(-0.5 * (dc * dc + dl * dl));
}

function skinModel(frame: Frame, skin: CoverageMask | null): ColourModel | null {
  if (!skin) return null;
  const b = new ModelBuilder();
  const f = new Float32Array(3);
  const { rect, alpha } = skin;
  for (let y = 0; y < rect.height; y += 3)
    for (let x = 0; x < rect.width; x += 3) {
      if (alpha[y * rect.width + x] < 0.9) continue;
      features(frame.data, ((rect.y + y) * frame.width + rect.x + x) * 3, f);
      b.add(f);
    }
  return b.count > 20 ? b.build() : null;
}

interface SearchArea {
  rect: MaskRect;
  oval: MaskRect;
  browY: number;
}

function searchRect(landmarks: ReadonlyArray<Point>, frame: Frame): SearchArea | null {
  const oval = regionBox(landmarks, 'faceOval');
  const brows = regionBox(landmarks, 'brows');
  const x0 = Math.max(0, Math.floor(oval.x - oval.width * SIDE));
  const y0 = Math.max(0, Math.floor(oval.y - oval.height * ABOVE));
  const x1 = Math.min(frame.width, Math.ceil(oval.x + oval.width * (1 + SIDE)));
  const y1 = Math.min(frame.height, Math.ceil(oval.y + oval.height * (1 + BELOW)));
  if (!(x1 > x0 && y1 > y0)) return null;
  return { rect: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, oval, browY: brows.y };
}

/** Half-resolution hair weights over the search rect; null when no hair is found. */
function hairWeights(ctx: RenderContext, person: PersonMask, area: SearchArea, skin: ColourModel): { w: Float32Array; gw: number; gh: number } | null {
  const { frame } = ctx;
  const { rect, browY, oval } = area;
  // Below the chin, straight under the face is neck and clothes; hair falls beside it.
  const chin = oval.y + oval.height;
  const underFace = (x: number, y: number) => y > chin && x > oval.x + oval.width * 0.1 && x < oval.x + oval.width * 0.9;
  const gw = Math.ceil(rect.width / SCALE);
  const gh = Math.ceil(rect.height / SCALE);
  const face = fillPolygons([loop(ctx.face.landmarks, FACE_OVAL)], rect);
  const onFace = (x: number, y: number) => face[(y - rect.y) * rect.width + x - rect.x] > 0.5;
  const crownX0 = oval.x + oval.width * CROWN_INSET;
  const crownX1 = oval.x + oval.width * (1 - CROWN_INSET);
  // Pass 1: person, off the face, unlike skin; the crown's pixels build the hair model.
  const w = new Float32Array(gw * gh);
  const inCrown = new Uint8Array(gw * gh);
  const f = new Float32Array(3);
  const crown: number[] = [];
  for (let gy = 0; gy < gh; gy++)
    for (let gx = 0; gx < gw; gx++) {
      const x = rect.x + gx * SCALE;
      const y = rect.y + gy * SCALE;
      const p = person.data[y * person.width + x];
      if (p < PERSON || onFace(x, y) || underFace(x, y)) continue;
      features(frame.data, (y * frame.width + x) * 3, f);
      const v = (p / 255) * (1 - likeness(skin, f, 2.5));
      w[gy * gw + gx] = v;
      if (y < browY && x >= crownX0 && x <= crownX1 && p >= SURE_PERSON && v > 0.6) {
        crown.push(f[0], f[1], f[2]);
        inCrown[gy * gw + gx] = 1;
      }
    }
  if (crown.length < 20 * 3) return null;
  const hair = crownModels(crown);
  // Pass 2: keep what looks like the crown's hair (clothes and background below the chin do not).
  for (let gy = 0; gy < gh; gy++)
    for (let gx = 0; gx < gw; gx++) {
      const i = gy * gw + gx;
      if (w[i] <= 0) continue;
      features(frame.data, ((rect.y + gy * SCALE) * frame.width + rect.x + gx * SCALE) * 3, f);
      w[i] *= Math.min(1, 1.5 * Math.max(likeness(hair[0], f, 1.4), likeness(hair[1], f, 1.4)));
    }
  keepConnected(w, inCrown, gw);
  for (let i = 0; i < w.length; i++) w[i] = Math.min(1, Math.max(0, (w[i] - CONNECTED) / (SURE - CONNECTED)));
  return { w: boxBlur(w, gw, gh, 1), gw, gh };
}

/**
 * The crown's hair as two models, its darker and its lighter half (split at the median luminance):
 * shadowed strands are warmer than lit ones, which one Gaussian would either miss or be too loose for.
 */
function crownModels(samples: number[]): [ColourModel, ColourModel] {
  const n = samples.length / 3;
  const lums = Array.from({ length: n }, (_, k) => samples[3 * k + 2]).sort((a, b) => a - b);
  const median = lums[n >> 1];
  const dark = new ModelBuilder();
  const light = new ModelBuilder();
  const f = new Float32Array(3);
  for (let k = 0; k < n; k++) {
    f.set(samples.slice(3 * k, 3 * k + 3));
    (f[2] < median ? dark : light).add(f);
  }
  const build = (b: ModelBuilder) => b.build(HAIR_MIN_CHROMA_SD, HAIR_MIN_LUM_SD);
  return dark.count > 0 ? [build(dark), build(light)] : [build(light), build(light)];
}

/** Zeroes the weights not connected (4-connected, through weights above CONNECTED) to a crown pixel. */
function keepConnected(w: Float32Array, crown: Uint8Array, gw: number): void {
  const reached = new Uint8Array(w.length);
  const stack = new Int32Array(w.length);
  let top = 0;
  for (let i = 0; i < w.length; i++)
    if (crown[i] && w[i] > CONNECTED) {
      reached[i] = 1;
      stack[top++] = i;
    }
  const visit = (j: number) => {
    if (!reached[j] && w[j] > CONNECTED) {
      reached[j] = 1;
      stack[top++] = j;
    }
  };
  while (top > 0) {
    const i = stack[--top];
    const x = i % gw;
    if (x > 0) visit(i - 1);
    if (x < gw - 1) visit(i + 1);
    if (i >= gw) visit(i - gw);
    if (i + gw < w.length) visit(i + gw);
  }
  for (let i = 0; i < w.length; i++) if (!reached[i]) w[i] = 0;
}

/** Frame-resolution coverage from the half-resolution weights, times the balayage ramp (1 for full). */
function hairMask(rect: MaskRect, weights: { w: Float32Array; gw: number; gh: number }, ramp: (y: number) => number): CoverageMask {
  const { w, gw, gh } = weights;
  const alpha = new Float32Array(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    const r = ramp(rect.y + y);
    if (r <= 0) continue;
    const gy = Math.min(gh - 1, y / SCALE);
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const wy = gy - y0;
    for (let x = 0; x < rect.width; x++) {
      const gx = Math.min(gw - 1, x / SCALE);
      const x0 = Math.floor(gx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const wx = gx - x0;
      const top = w[y0 * gw + x0] + wx * (w[y0 * gw + x1] - w[y0 * gw + x0]);
      const bottom = w[y1 * gw + x0] + wx * (w[y1 * gw + x1] - w[y1 * gw + x0]);
      alpha[y * rect.width + x] = r * (top + wy * (bottom - top));
    }
  }
  return { rect, alpha };
}

/** Balayage: natural down to a little below the top of the face, then growing to full over one face height. */
function balayageRamp(oval: MaskRect): (y: number) => number {
  const start = oval.y + oval.height * 0.1;
  return (y) => {
    const t = Math.min(1, Math.max(0, (y - start) / (oval.height * 0.9)));
    return t * t * (3 - 2 * t);
  };
}

export const hairColourRenderer: CategoryRenderer = {
  category: 'hairColour',
  render(ctx, item) {
    const person = ctx.person;
    if (!person || person.width !== ctx.frame.width || person.height !== ctx.frame.height) return false;
    const area = searchRect(ctx.face.landmarks, ctx.frame);
    const skin = skinModel(ctx.frame, ctx.mask('faceSkin'));
    if (!area || !skin) return false;
    const weights = hairWeights(ctx, person, area, skin);
    if (!weights) return false;
    const style = STYLE_SCHEMAS.hairColour.safeParse(item.shade.style ?? {});
    const ramp = style.success && style.data.style === 'balayage' ? balayageRamp(area.oval) : () => 1;
    const mask = hairMask(area.rect, weights, ramp);
    const layer = { colour: hexToLinear(item.shade.hex), strength: item.shade.opacity * item.intensity, material: MATERIALS[item.shade.finish] };
    return paint(ctx.frame, mask, layer, ctx.light, ctx.paintScratch, ctx.drawnLight);
  },
};
