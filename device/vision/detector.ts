/**
 * Face detection (MediaPipe BlazeFace as shipped): finds faces when tracking has none. Anchors,
 * decoding and weighted NMS are done here in plain TypeScript from the model's manifest (models/
 * decode.ts); the runtime only runs the graph.
 */
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';
import type { Box } from './face.ts';
import type { BlazeFaceDecode } from '../../models/decode.ts';

export interface Detection {
  box: Box;
  score: number;
  /** Six keypoints in frame pixels: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides). */
  keypoints: Array<[number, number]>;
}

export interface DetectorOptions {
  minScore: number;
}

/** What the tracker and the smoke tests need from a face detector, whatever model runs it. */
export interface Detector {
  readonly model: LoadedModel;
  /** Faces in the image, largest first. */
  detect(image: RgbImage): Promise<Detection[]>;
}

/** Anchor centres in input pixels, layer by layer in the manifest's order (MediaPipe's SSD anchor layout). */
function makeAnchors(size: number, spec: BlazeFaceDecode): Float32Array {
  const anchors: number[] = [];
  for (const { stride, anchorsPerCell } of spec.layers) {
    const cells = size / stride;
    for (let gy = 0; gy < cells; gy++)
      for (let gx = 0; gx < cells; gx++)
        for (let n = 0; n < anchorsPerCell; n++) anchors.push((gx + spec.anchorOffset) * stride, (gy + spec.anchorOffset) * stride);
  }
  return Float32Array.from(anchors);
}

const iou = (a: Box, b: Box): number => {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a.width * a.height + b.width * b.height - inter || 1);
};

/** The parts of a detector model fixed by its manifest: input buffer, anchors, where each layer's outputs are. */
interface DetectorPlan {
  model: LoadedModel;
  size: number;
  range: readonly [number, number];
  spec: BlazeFaceDecode;
  anchors: Float32Array;
  input: Float32Array;
}

function planFor(model: LoadedModel): DetectorPlan {
  const { decode, input } = model.manifest;
  if (decode.kind !== 'blazeface') throw new Error(`model ${model.name}: decode kind "${decode.kind}" is not a face detector's`);
  const size = input.shape[1];
  return { model, size, range: input.range, spec: decode, anchors: makeAnchors(size, decode), input: new Float32Array(size * size * 3) };
}

/**
 * BlazeFace-style detector decoded as its manifest says (input size and range, anchor layers,
 * which output holds which layer's scores and regressors). `swap` puts another detector model in
 * (an over-the-air update) from the next call on.
 */
export class FaceDetector implements Detector {
  #plan: DetectorPlan;
  readonly #options: DetectorOptions;

  constructor(model: LoadedModel, options: DetectorOptions) {
    this.#plan = planFor(model);
    this.#options = options;
  }

  get model(): LoadedModel {
    return this.#plan.model;
  }

  /** Serves `model` from the next call; returns the previous model, still loaded. */
  swap(model: LoadedModel): LoadedModel {
    const previous = this.#plan.model;
    this.#plan = planFor(model);
    return previous;
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const { model, size, range, spec, anchors, input } = this.#plan;
    // Letterbox the whole frame into the square input so faces keep their aspect ratio.
    const region: SquareRegion = { cx: image.width / 2, cy: image.height / 2, size: Math.max(image.width, image.height), angle: 0 };
    sampleRegion(image, region, size, range, input);
    const outputs = await model.run(input, [1, size, size, 3]);
    const byName = new Map(outputs.map((o) => [o.name, o.data]));
    const candidates: Detection[] = [];
    const values = spec.valuesPerAnchor;
    let a = 0;
    for (const layer of spec.layers) {
      const scores = byName.get(layer.scores);
      const reg = byName.get(layer.boxes);
      if (!scores || !reg) throw new Error(`model ${model.name}: output ${scores ? layer.boxes : layer.scores} missing from the run`);
      for (let j = 0; j < scores.length; j++, a++) {
        const score = 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, scores[j]))));
        if (score < this.#options.minScore) continue;
        const r = j * values;
        const ax = anchors[2 * a];
        const ay = anchors[2 * a + 1];
        const cx = (ax + reg[r]) / size;
        const cy = (ay + reg[r + 1]) / size;
        const w = reg[r + 2] / size;
        const h = reg[r + 3] / size;
        const [x0, y0] = regionToFrame(region, cx - w / 2, cy - h / 2);
        const [x1, y1] = regionToFrame(region, cx + w / 2, cy + h / 2);
        const keypoints: Array<[number, number]> = [];
        for (let k = 0; k < spec.keypoints; k++) keypoints.push(regionToFrame(region, (ax + reg[r + 4 + 2 * k]) / size, (ay + reg[r + 5 + 2 * k]) / size));
        candidates.push({ box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score, keypoints });
      }
    }
    return this.#weightedNms(candidates, spec.nmsIou);
  }

  /** MediaPipe-style weighted NMS: overlapping candidates are averaged, which steadies the box. */
  #weightedNms(candidates: Detection[], nmsIou: number): Detection[] {
    const remaining = candidates.sort((a, b) => b.score - a.score);
    const kept: Detection[] = [];
    while (remaining.length > 0) {
      const best = remaining[0];
      const cluster = remaining.filter((c) => iou(best.box, c.box) >= nmsIou);
      const rest = remaining.filter((c) => iou(best.box, c.box) < nmsIou);
      const total = cluster.reduce((s, c) => s + c.score, 0);
      const avg = (pick: (d: Detection) => number) => cluster.reduce((s, c) => s + pick(c) * c.score, 0) / total;
      kept.push({
        score: best.score,
        box: { x: avg((d) => d.box.x), y: avg((d) => d.box.y), width: avg((d) => d.box.width), height: avg((d) => d.box.height) },
        keypoints: best.keypoints.map((_, k) => [avg((d) => d.keypoints[k][0]), avg((d) => d.keypoints[k][1])] as [number, number]),
      });
      remaining.length = 0;
      remaining.push(...rest);
    }
    return kept.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  }
}
