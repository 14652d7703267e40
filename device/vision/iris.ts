/**
 * Iris refinement (MediaPipe iris landmark model, 64x64 eye crops): iris centre and radius per
 * eye. Each eye is cut as a square around its two corners (2.3x the corner distance), rotated
 * upright along the eye line; the subject's left eye is mirrored so both look like the right eye
 * the model was trained on.
 */
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';

const INPUT = 64;
/** 71 eye-contour points then 5 iris points (centre, then four on the rim), x y z each. */
const CONTOUR_POINTS = 71;
const IRIS_POINTS = 5;
const CROP_SCALE = 2.3;

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

const EYES = { right: [33, 133], left: [263, 362] } as const;

export class IrisModel {
  readonly #model: LoadedModel;
  readonly #inputs = [new Float32Array(INPUT * INPUT * 3), new Float32Array(INPUT * INPUT * 3)];

  constructor(model: LoadedModel) {
    this.#model = model;
  }

  get model(): LoadedModel {
    return this.#model;
  }

  async estimate(image: RgbImage, landmarks: ReadonlyArray<readonly number[]>): Promise<IrisPair> {
    const regions = (['right', 'left'] as const).map((side) => {
      const [a, b] = EYES[side].map((i) => landmarks[i]);
      const size = Math.hypot(b[0] - a[0], b[1] - a[1]) * CROP_SCALE;
      // Upright for both eyes: the angle of the outer → inner line, flipped for the left eye.
      const angle = side === 'right' ? Math.atan2(b[1] - a[1], b[0] - a[0]) : Math.atan2(a[1] - b[1], a[0] - b[0]);
      return { cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, size, angle } satisfies SquareRegion;
    });
    sampleRegion(image, regions[0], INPUT, [0, 1], this.#inputs[0]);
    mirrorRows(sampleRegion(image, regions[1], INPUT, [0, 1], this.#inputs[1]));
    // One eye per run: batch 1 is what every backend's conversion of this model accepts.
    const per = (CONTOUR_POINTS + IRIS_POINTS) * 3;
    const results: Float32Array[] = [];
    for (const input of this.#inputs) {
      const outputs = await this.#model.run(input, [1, INPUT, INPUT, 3]);
      const out = outputs.find((o) => o.data.length === per);
      if (!out) throw new Error(`model ${this.#model.name}: expected an output of ${per} values (71 contour + 5 iris points)`);
      results.push(out.data);
    }
    const decode = (k: number, flip: boolean): Iris => {
      const data = results[k];
      const pts: Array<[number, number]> = [];
      for (let j = 0; j < IRIS_POINTS; j++) {
        const o = (CONTOUR_POINTS + j) * 3;
        const nx = data[o] / INPUT;
        pts.push(regionToFrame(regions[k], flip ? 1 - nx : nx, data[o + 1] / INPUT));
      }
      const [center, ...rim] = pts;
      const radius = rim.reduce((s, p) => s + Math.hypot(p[0] - center[0], p[1] - center[1]), 0) / rim.length;
      return { center, radius };
    };
    return { right: decode(0, false), left: decode(1, true) };
  }
}

/** Mirrors an INPUT x INPUT x 3 image left-right in place. */
function mirrorRows(buf: Float32Array): void {
  for (let y = 0; y < INPUT; y++) {
    for (let x = 0; x < INPUT / 2; x++) {
      const a = (y * INPUT + x) * 3;
      const b = (y * INPUT + INPUT - 1 - x) * 3;
      for (let c = 0; c < 3; c++) {
        const t = buf[a + c];
        buf[a + c] = buf[b + c];
        buf[b + c] = t;
      }
    }
  }
}
