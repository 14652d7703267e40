/**
 * Iris refinement (MediaPipe iris landmark model on eye crops): iris centre and radius per eye.
 * Each eye is cut as a square around its two corners (the manifest's cropScale times the corner
 * distance), rotated upright along the eye line; the subject's left eye is mirrored so both look
 * like the right eye the model was trained on. Input size, normalisation, output and point counts
 * come from the model's manifest.
 */
import type { IrisDecode } from '../../models/decode.ts';
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';
import { EYE_LEFT_UPPER, EYE_RIGHT_UPPER } from './regions.ts';

export interface Iris {
  /** Centre in frame pixels. */
  center: [number, number];
  /** Mean distance from the centre to the four rim points, in frame pixels. */
  radius: number;
}

export interface IrisPair {
  /** Subject's right eye (mesh 33-133) and left eye (mesh 263-362). */
  right: Iris;
  left: Iris;
}

/** Eye corners (outer, inner) from the one landmark table (regions.ts). */
export const EYE_CORNERS = {
  right: [EYE_RIGHT_UPPER[0], EYE_RIGHT_UPPER[EYE_RIGHT_UPPER.length - 1]],
  left: [EYE_LEFT_UPPER[0], EYE_LEFT_UPPER[EYE_LEFT_UPPER.length - 1]],
} as const;

/** What the tracker needs from an iris model, whatever model runs it. */
export interface IrisEstimator {
  readonly model: LoadedModel;
  estimate(image: RgbImage, landmarks: ReadonlyArray<readonly number[]>): Promise<IrisPair>;
}

interface IrisPlan {
  model: LoadedModel;
  size: number;
  spec: IrisDecode;
  inputs: [Float32Array, Float32Array];
}

function planFor(model: LoadedModel): IrisPlan {
  const { decode, input } = model.manifest;
  if (decode.kind !== 'iris') throw new Error(`model ${model.name}: decode kind "${decode.kind}" is not an iris model's`);
  const size = input.shape[1];
  return { model, size, spec: decode, inputs: [new Float32Array(size * size * 3), new Float32Array(size * size * 3)] };
}

export class IrisModel implements IrisEstimator {
  #plan: IrisPlan;

  constructor(model: LoadedModel) {
    this.#plan = planFor(model);
  }

  get model(): LoadedModel {
    return this.#plan.model;
  }

  /** Serves `model` from the next call (an over-the-air update); returns the previous one, still loaded. */
  swap(model: LoadedModel): LoadedModel {
    const previous = this.#plan.model;
    this.#plan = planFor(model);
    return previous;
  }

  async estimate(image: RgbImage, landmarks: ReadonlyArray<readonly number[]>): Promise<IrisPair> {
    const { model, size, spec, inputs } = this.#plan;
    const range = model.manifest.input.range;
    const regions = (['right', 'left'] as const).map((side) => {
      const [a, b] = EYE_CORNERS[side].map((i) => landmarks[i]);
      const size = Math.hypot(b[0] - a[0], b[1] - a[1]) * spec.cropScale;
      // Upright for both eyes: the angle of the outer → inner line, flipped for the left eye.
      const angle = side === 'right' ? Math.atan2(b[1] - a[1], b[0] - a[0]) : Math.atan2(a[1] - b[1], a[0] - b[0]);
      return { cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, size, angle } satisfies SquareRegion;
    });
    sampleRegion(image, regions[0], size, range, inputs[0]);
    mirrorRows(sampleRegion(image, regions[1], size, range, inputs[1]), size);
    // One eye per run: batch 1 is what every backend's conversion of this model accepts.
    const results: Float32Array[] = [];
    for (const input of inputs) {
      const outputs = await model.run(input, [1, size, size, 3]);
      const out = outputs.find((o) => o.name === spec.output);
      if (!out) throw new Error(`model ${model.name}: output ${spec.output} missing from the run`);
      results.push(out.data);
    }
    const decode = (k: number, flip: boolean): Iris => {
      const data = results[k];
      const pts: Array<[number, number]> = [];
      for (let j = 0; j < spec.irisPoints; j++) {
        const o = (spec.contourPoints + j) * 3;
        const nx = data[o] / size;
        pts.push(regionToFrame(regions[k], flip ? 1 - nx : nx, data[o + 1] / size));
      }
      const [center, ...rim] = pts;
      const radius = rim.reduce((s, p) => s + Math.hypot(p[0] - center[0], p[1] - center[1]), 0) / rim.length;
      return { center, radius };
    };
    return { right: decode(0, false), left: decode(1, true) };
  }
}

/** Mirrors a size x size x 3 image left-right in place. */
function mirrorRows(buf: Float32Array, size: number): void {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size / 2; x++) {
      const a = (y * size + x) * 3;
      const b = (y * size + size - 1 - x) * 3;
      for (let c = 0; c < 3; c++) {
        const t = buf[a + c];
        buf[a + c] = buf[b + c];
        buf[b + c] = t;
      }
    }
  }
}
