/**
 * The inference runtime contract: load a verified model, run typed tensors in and out, dispose.
 * Backends (tfjs WASM, tfjs-node-gpu, ONNX Runtime) implement it; stages never see which.
 */
import { MirrorError } from '../../../fleet/protocol/errors.ts';
import type { ModelManifest, ResolvedModel } from '../../../models/registry.ts';

export interface TensorOut {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface LoadedModel {
  readonly name: string;
  readonly version: string;
  /** Backend actually executing this model, e.g. "tfjs-wasm". */
  readonly backend: string;
  /** The verified manifest: input size and normalisation, output names, decoding parameters. */
  readonly manifest: ModelManifest;
  /** Runs one NHWC float32 input; outputs come back in the model's declared output order. */
  run(input: Float32Array, shape: readonly number[]): Promise<TensorOut[]>;
  dispose(): void;
}

export interface InferenceRuntime {
  readonly backend: string;
  load(model: ResolvedModel): Promise<LoadedModel>;
  /** Tensors alive in the runtime: flat over time means no leak. */
  liveTensors(): number;
}

/**
 * The graph's outputs against the manifest's `outputs`: every output the decoder reads must exist
 * with that many values (a graph dimension of -1/null is the batch, taken as 1). Throws naming the field.
 */
export function checkOutputContract(manifest: ModelManifest, graphOutputs: ReadonlyArray<{ name: string; shape: ReadonlyArray<number | null> | null }>): void {
  for (const [name, values] of Object.entries(manifest.outputs)) {
    const out = graphOutputs.find((o) => o.name === name);
    if (!out) {
      throw new MirrorError(
        'MIRROR_ERR_MODEL_CONTRACT',
        `model ${manifest.name}: manifest field "outputs.${name}": the graph has no output "${name}" (it has ${graphOutputs.map((o) => o.name).join(', ')})`,
      );
    }
    if (!out.shape) continue;
    const size = out.shape.reduce<number>((a, d) => a * (d === null || d < 0 ? 1 : d), 1);
    if (size !== values) {
      throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: manifest field "outputs.${name}": the graph's output has ${size} values, the manifest says ${values}`);
    }
  }
}
