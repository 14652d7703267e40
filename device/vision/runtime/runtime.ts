/**
 * The inference runtime contract: load a verified model, run typed tensors in and out, dispose.
 * Backends (tfjs WASM, tfjs-node-gpu, later ONNX Runtime) implement it; stages never see which.
 */
import type { ResolvedModel } from '../../../models/registry.ts';

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
