/**
 * Face landmarks on a rotated face crop, decoded as the model's manifest says: MediaPipe's face
 * mesh (468 points) or the attention mesh (468 points refined on lips and eyes, plus 10 iris
 * points: 478). The input size and normalisation come from the manifest too.
 */
import type { MeshDecode } from '../../models/decode.ts';
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';
import { decodeAttentionMesh } from './attention-mesh.ts';

export interface MeshResult {
  /** Probability that the crop holds a face. */
  score: number;
  /** 468 points (plain mesh) or 478 (attention mesh: irises appended), [x, y, z] in frame pixels. */
  landmarks: Array<[number, number, number]>;
}

/** What the tracker needs from a landmark model, whatever model runs it. */
export interface LandmarkEstimator {
  readonly model: LoadedModel;
  estimate(image: RgbImage, region: SquareRegion): Promise<MeshResult>;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, v))));

export class FaceMesh implements LandmarkEstimator {
  readonly #model: LoadedModel;
  readonly #size: number;
  readonly #input: Float32Array;

  constructor(model: LoadedModel) {
    const { decode, input } = model.manifest;
    if (decode.kind !== 'face-mesh' && decode.kind !== 'attention-mesh') throw new Error(`model ${model.name}: decode kind "${decode.kind}" is not a face mesh's`);
    this.#model = model;
    this.#size = input.shape[1];
    this.#input = new Float32Array(this.#size * input.shape[2] * 3);
  }

  get model(): LoadedModel {
    return this.#model;
  }

  async estimate(image: RgbImage, region: SquareRegion): Promise<MeshResult> {
    const { manifest } = this.#model;
    const size = this.#size;
    sampleRegion(image, region, size, manifest.input.range, this.#input);
    const outputs = await this.#model.run(this.#input, [1, size, size, 3]);
    const byName = new Map(outputs.map((o) => [o.name, o.data]));
    const decode = manifest.decode as MeshDecode;
    const get = (name: string): Float32Array => {
      const data = byName.get(name);
      if (!data) throw new Error(`model ${this.#model.name}: output ${name} missing from the run`);
      return data;
    };
    const flag = get(decode.score)[0];
    const score = decode.scoreActivation === 'sigmoid' ? sigmoid(flag) : flag;
    // x, y, z in input pixels (z on the x scale): the attention mesh's refinements merged first.
    const points = manifest.decode.kind === 'attention-mesh' ? decodeAttentionMesh(manifest.decode, get) : xyz(get(decode.landmarks), decode.points);
    const depthScale = region.size / size;
    const landmarks = points.map(([x, y, z]): [number, number, number] => {
      const [fx, fy] = regionToFrame(region, x / size, y / size);
      return [fx, fy, z * depthScale];
    });
    return { score, landmarks };
  }
}

function xyz(data: Float32Array, points: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = new Array(points);
  for (let i = 0; i < points; i++) out[i] = [data[3 * i], data[3 * i + 1], data[3 * i + 2]];
  return out;
}
