/**
 * The advisor's reading of a shopper: skin samples (skin-sample.ts) of the last few analysed frames
 * combined into one tone, undertone, face shape and skin metrics, with a confidence.
 *
 * Over frames: the per-channel median of the window's skin CIELAB (a frame with a hand in front or a
 * turned head does not move it), the median of each metric, of each geometry ratio and of each tone
 * feature; the Monk level is the tone model's (tone-estimate.ts) on those medians. ITA° is the skin
 * colour's (what the shade matching and undertone read too).
 * Confidence (0..1) = frames × patches × agreement × steadiness, each 0..1:
 *   frames      analysed frames in the window / SETTLED_FRAMES (capped at 1)
 *   patches     (1 + counted patches) / 5: four counted patches = 1
 *   agreement   1 − (median patch spread − 4) / 30, clamped (patch spread: skin-sample.ts)
 *   steadiness  1 − (median ΔE76 of the frames from the window's colour − 1) / 6, clamped
 * A still photo (readStill) has one frame and its frames term is 1: the confidence then says only
 * how well the patches agree.
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import { faceShapeOf, type FaceGeometry, type FaceShape } from './face-shape.ts';
import type { Lab } from './lab.ts';
import { itaOf } from './monk.ts';
import { median } from './robust.ts';
import { sampleSkin, type SkinSample } from './skin-sample.ts';
import { monkOfScore, toneScore, type ToneFeatures } from './tone-estimate.ts';
import { undertoneOf, type Undertone } from './undertone.ts';

export interface SkinMetrics {
  shine: number;
  redness: number;
  evenness: number;
  underEye: number;
}

export interface SkinReading {
  monk: number;
  /** The tone model's score (tone-estimate.ts): `monk` is it rounded; the session's hysteresis reads it. */
  monkScore: number;
  /** The tone features the score was made from (the window's medians). */
  tone: ToneFeatures;
  ita: number;
  undertone: Undertone;
  lab: Lab;
  confidence: number;
  faceShape: FaceShape;
  skin: SkinMetrics;
}

/** Analysed frames for a full frames term of the confidence. */
export const SETTLED_FRAMES = 5;
/** Frames the reading is the median of. */
export const WINDOW_FRAMES = 15;

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/**
 * The window's tone features: the median of each over the frames that read it; the whites only when
 * at least half the frames found them (else the skin-only model), so one frame's glint is no white.
 */
function toneOf(samples: readonly SkinSample[], lab: Lab): ToneFeatures {
  const read = samples.flatMap((s) => (s.tone ? [s.tone] : []));
  const whites = read.filter((t) => t.whitesLogY !== null && t.relBG !== null);
  const withWhites = whites.length * 2 >= read.length && whites.length > 0;
  const lit = whites.flatMap((t) => (t.lit ? [t.lit] : []));
  const skinL = whites.flatMap((t) => (t.skinL ? [t.skinL] : []));
  return {
    ita: read.length ? median(read.map((t) => t.ita)) : itaOf(lab),
    wbIta: withWhites ? median(whites.flatMap((t) => (t.wbIta === undefined || t.wbIta === null ? [] : [t.wbIta]))) : null,
    whitesLogY: withWhites ? median(whites.map((t) => t.whitesLogY!)) : null,
    relBG: withWhites ? median(whites.map((t) => t.relBG!)) : null,
    lit: withWhites && lit.length * 2 >= whites.length ? { logY: median(lit.map((l) => l.logY)), relBG: median(lit.map((l) => l.relBG)), relRG: median(lit.map((l) => l.relRG)) } : null,
    skinL: withWhites && skinL.length * 2 >= whites.length ? { q50: median(skinL.map((l) => l.q50)), q90: median(skinL.map((l) => l.q90)) } : null,
  };
}

function combine(samples: readonly SkinSample[], framesTerm: number): SkinReading {
  const lab = [0, 1, 2].map((c) => median(samples.map((s) => s.lab[c]))) as Lab;
  const ita = itaOf(lab);
  const tone = toneOf(samples, lab);
  const score = toneScore(tone);
  const counted = median(samples.map((s) => s.patches.filter((p) => p.dropped === null).length));
  const spread = median(samples.map((s) => s.spread));
  const drift = median(samples.map((s) => Math.hypot(s.lab[0] - lab[0], s.lab[1] - lab[1], s.lab[2] - lab[2])));
  const confidence = framesTerm * clamp01((1 + counted) / 5) * clamp01(1 - (spread - 4) / 30) * clamp01(1 - (drift - 1) / 6);
  const geometry = Object.fromEntries(
    (['lengthToCheeks', 'jawToCheeks', 'foreheadToJaw'] as const).map((k) => [k, median(samples.map((s) => s.geometry[k]))]),
  ) as unknown as FaceGeometry;
  const metric = (k: keyof SkinMetrics): number => round(median(samples.map((s) => s[k])), 3);
  return {
    monk: monkOfScore(score),
    monkScore: round(score, 3),
    tone,
    ita: round(ita, 1),
    undertone: undertoneOf(lab),
    lab: lab.map((v) => round(v, 2)) as Lab,
    confidence: round(confidence, 3),
    faceShape: faceShapeOf(geometry),
    skin: { shine: metric('shine'), redness: metric('redness'), evenness: metric('evenness'), underEye: metric('underEye') },
  };
}

/** The last WINDOW_FRAMES samples of one shopper (memory only; `clear` wipes them). */
export class ReadingWindow {
  #samples: SkinSample[] = [];

  add(sample: SkinSample): void {
    this.#samples.push(sample);
    if (this.#samples.length > WINDOW_FRAMES) this.#samples.shift();
  }

  get frames(): number {
    return this.#samples.length;
  }

  reading(): SkinReading | null {
    if (this.#samples.length === 0) return null;
    return combine(this.#samples, clamp01(this.#samples.length / SETTLED_FRAMES));
  }

  clear(): void {
    this.#samples = [];
  }
}

/** One photo's reading (the fairness evaluation's entry point), or null when no skin patch can be read. */
export function readStill(image: RgbImage, face: Face): SkinReading | null {
  const sample = sampleSkin(image, face);
  return sample ? combine([sample], 1) : null;
}
