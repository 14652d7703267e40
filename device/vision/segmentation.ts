/**
 * Person segmentation (MediaPipe selfie model, 256x256, or Meet 256x144) at a lower rate than the
 * frame rate: the mask moves slowly and only gates hair colour and occlusion, so it is computed
 * every N frames and reused in between. The model sees the whole frame stretched to its input, as
 * MediaPipe feeds it; its mask is upsampled back to the frame's resolution.
 */
import type { LoadedModel } from './runtime/runtime.ts';
import type { RgbImage } from './image-ops.ts';
import type { SegmentationDecode } from '../../models/decode.ts';

export interface PersonMask {
  width: number;
  height: number;
  /** Person probability per frame pixel, 0..255, row-major. */
  data: Uint8Array;
  /** Frames since this mask was computed (0 = on this frame). */
  age: number;
}

export interface SegmenterOptions {
  /** Run the model on every Nth frame (1 = every frame). */
  every: number;
}

/** What the tracker needs from a person segmenter, whatever model runs it. */
export interface Segmenter {
  readonly model: LoadedModel;
  reset(): void;
  process(image: RgbImage): Promise<PersonMask>;
}

interface SegmenterPlan {
  model: LoadedModel;
  inW: number;
  inH: number;
  spec: SegmentationDecode;
  input: Float32Array;
}

function planFor(model: LoadedModel): SegmenterPlan {
  const { decode, input } = model.manifest;
  if (decode.kind !== 'segmentation') throw new Error(`model ${model.name}: decode kind "${decode.kind}" is not a segmenter's`);
  const [, inH, inW] = input.shape;
  return { model, inW, inH, spec: decode, input: new Float32Array(inW * inH * 3) };
}

export class PersonSegmenter implements Segmenter {
  #plan: SegmenterPlan;
  readonly #options: SegmenterOptions;
  #last: PersonMask | null = null;
  #counter = 0;

  /** Input size, output and activation come from the model's manifest. */
  constructor(model: LoadedModel, options: SegmenterOptions) {
    this.#plan = planFor(model);
    this.#options = options;
  }

  get model(): LoadedModel {
    return this.#plan.model;
  }

  /** Serves `model` from the next mask on (an over-the-air update); returns the previous one, still loaded. */
  swap(model: LoadedModel): LoadedModel {
    const previous = this.#plan.model;
    this.#plan = planFor(model);
    this.reset();
    return previous;
  }

  reset(): void {
    this.#last = null;
    this.#counter = 0;
  }

  /** The person mask for this frame: fresh every N frames, else the last one (age > 0). */
  async process(image: RgbImage): Promise<PersonMask> {
    const due = this.#counter % Math.max(1, this.#options.every) === 0;
    this.#counter++;
    const last = this.#last;
    if (!due && last && last.width === image.width && last.height === image.height) {
      last.age++;
      return last;
    }
    this.#last = await this.segment(image);
    return this.#last;
  }

  /** Runs the model on `image` now. */
  async segment(image: RgbImage): Promise<PersonMask> {
    const { model, inW, inH, spec, input } = this.#plan;
    resizeInto(image, inW, inH, model.manifest.input.range, input);
    const outputs = await model.run(input, [1, inH, inW, 3]);
    const out = outputs.find((o) => o.name === spec.output);
    if (!out) throw new Error(`model ${model.name}: output ${spec.output} missing from the run`);
    const prob = new Float32Array(inW * inH);
    for (let i = 0; i < prob.length; i++) {
      if (spec.activation === 'softmax') {
        // [background, person] logits → softmax.
        prob[i] = 1 / (1 + Math.exp(out.data[2 * i] - out.data[2 * i + 1]));
      } else {
        const v = out.data[i];
        prob[i] = spec.activation === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : Math.min(1, Math.max(0, v));
      }
    }
    return { width: image.width, height: image.height, data: upsample(prob, inW, inH, image.width, image.height), age: 0 };
  }
}

/** Bilinear stretch of the whole image into w x h, RGB 0..255 mapped linearly onto `range`. */
function resizeInto(image: RgbImage, w: number, h: number, range: readonly [number, number], out: Float32Array): void {
  const scale = (range[1] - range[0]) / 255;
  const sx = image.width / w;
  const sy = image.height / h;
  const { data, width } = image;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(image.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(image.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = fx - x0;
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(y0 * width + x0) * 3 + c] * (1 - wx) + data[(y0 * width + x1) * 3 + c] * wx;
        const bottom = data[(y1 * width + x0) * 3 + c] * (1 - wx) + data[(y1 * width + x1) * 3 + c] * wx;
        out[o + c] = range[0] + (top * (1 - wy) + bottom * wy) * scale;
      }
    }
  }
}

/** Bilinear upsampling of a w x h probability map to W x H bytes. */
function upsample(prob: Float32Array, w: number, h: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const sx = w / W;
  const sy = h / H;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      const v = (prob[y0 * w + x0] * (1 - wx) + prob[y0 * w + x1] * wx) * (1 - wy) + (prob[y1 * w + x0] * (1 - wx) + prob[y1 * w + x1] * wx) * wy;
      out[y * W + x] = Math.round(v * 255);
    }
  }
  return out;
}
