/** MediaPipe face mesh (468 points, 192x192 input) run on a rotated face crop. */
import type { LoadedModel } from './runtime/runtime.ts';
import { sampleRegion, regionToFrame, type RgbImage, type SquareRegion } from './image-ops.ts';
import { MESH_POINT_COUNT } from './face.ts';

const INPUT = 192;

export interface MeshResult {
  /** Probability that the crop holds a face. */
  score: number;
  landmarks: Array<[number, number, number]>;
}

export class FaceMesh {
  readonly #model: LoadedModel;
  readonly #input = new Float32Array(INPUT * INPUT * 3);

  constructor(model: LoadedModel) {
    this.#model = model;
  }

  get model(): LoadedModel {
    return this.#model;
  }

  async estimate(image: RgbImage, region: SquareRegion): Promise<MeshResult> {
    sampleRegion(image, region, INPUT, [0, 1], this.#input);
    const outputs = await this.#model.run(this.#input, [1, INPUT, INPUT, 3]);
    const mesh = outputs.find((o) => o.data.length === MESH_POINT_COUNT * 3);
    const flag = outputs.find((o) => o.data.length === 1);
    if (!mesh || !flag) throw new Error(`model ${this.#model.name}: outputs lack the 1404-value mesh or the face flag`);
    const depthScale = region.size / INPUT;
    const landmarks: Array<[number, number, number]> = new Array(MESH_POINT_COUNT);
    for (let i = 0; i < MESH_POINT_COUNT; i++) {
      const [x, y] = regionToFrame(region, mesh.data[3 * i] / INPUT, mesh.data[3 * i + 1] / INPUT);
      landmarks[i] = [x, y, mesh.data[3 * i + 2] * depthScale];
    }
    return { score: flag.data[0], landmarks };
  }
}
