/**
 * BlazeFace (MediaPipe, full-range "back" model, 256x256): finds faces when tracking has none.
 * Anchors, decoding and weighted NMS are done here in plain TypeScript; the runtime only runs the graph.
 */
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';
import type { Box } from './face.ts';

export interface Detection {
  box: Box;
  score: number;
  /** Six keypoints in frame pixels: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides). */
  keypoints: Array<[number, number]>;
}

export interface DetectorOptions {
  minScore: number;
}

/** Candidates overlapping the best one by at least this much are the same face (weighted NMS, as MediaPipe's BlazeFace). */
const NMS_IOU = 0.3;

const INPUT = 256;
const VALUES = 16;

/** 16x16 grid x2 anchors (stride 16), then 8x8 x6 (stride 32); centres in input pixels. */
function makeAnchors(): Float32Array {
  const anchors: number[] = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]] as const) {
    const cells = INPUT / stride;
    for (let gy = 0; gy < cells; gy++)
      for (let gx = 0; gx < cells; gx++) for (let n = 0; n < perCell; n++) anchors.push((gx + 0.5) * stride, (gy + 0.5) * stride);
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

export class FaceDetector {
  readonly #model: LoadedModel;
  readonly #options: DetectorOptions;
  readonly #anchors = makeAnchors();
  readonly #input = new Float32Array(INPUT * INPUT * 3);

  constructor(model: LoadedModel, options: DetectorOptions) {
    this.#model = model;
    this.#options = options;
  }

  get model(): LoadedModel {
    return this.#model;
  }

  /** Faces in the image, largest first. */
  async detect(image: RgbImage): Promise<Detection[]> {
    // Letterbox the whole frame into the square input so faces keep their aspect ratio.
    const region: SquareRegion = { cx: image.width / 2, cy: image.height / 2, size: Math.max(image.width, image.height), angle: 0 };
    sampleRegion(image, region, INPUT, [-1, 1], this.#input);
    const outputs = await this.#model.run(this.#input, [1, INPUT, INPUT, 3]);
    // Output names differ between conversions; the sizes do not: scores 384 and 512, regressors x16.
    const bySize = [...outputs].sort((a, b) => a.data.length - b.data.length);
    const [scores32, scores16, boxes32, boxes16] = bySize.map((o) => o.data);
    const candidates: Detection[] = [];
    const anchorCount = this.#anchors.length / 2;
    for (let i = 0; i < anchorCount; i++) {
      const fine = i < scores16.length;
      const j = fine ? i : i - scores16.length;
      const logit = fine ? scores16[j] : scores32[j];
      const score = 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, logit))));
      if (score < this.#options.minScore) continue;
      const reg = fine ? boxes16 : boxes32;
      const r = j * VALUES;
      const ax = this.#anchors[2 * i];
      const ay = this.#anchors[2 * i + 1];
      const cx = (ax + reg[r]) / INPUT;
      const cy = (ay + reg[r + 1]) / INPUT;
      const w = reg[r + 2] / INPUT;
      const h = reg[r + 3] / INPUT;
      const [x0, y0] = regionToFrame(region, cx - w / 2, cy - h / 2);
      const [x1, y1] = regionToFrame(region, cx + w / 2, cy + h / 2);
      const keypoints: Array<[number, number]> = [];
      for (let k = 0; k < 6; k++) keypoints.push(regionToFrame(region, (ax + reg[r + 4 + 2 * k]) / INPUT, (ay + reg[r + 5 + 2 * k]) / INPUT));
      candidates.push({ box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score, keypoints });
    }
    return this.#weightedNms(candidates);
  }

  /** MediaPipe-style weighted NMS: overlapping candidates are averaged, which steadies the box. */
  #weightedNms(candidates: Detection[]): Detection[] {
    const remaining = candidates.sort((a, b) => b.score - a.score);
    const kept: Detection[] = [];
    while (remaining.length > 0) {
      const best = remaining[0];
      const cluster = remaining.filter((c) => iou(best.box, c.box) >= NMS_IOU);
      const rest = remaining.filter((c) => iou(best.box, c.box) < NMS_IOU);
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
