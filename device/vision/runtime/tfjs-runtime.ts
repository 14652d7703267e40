/**
 * TensorFlow.js runtime. Prefers @tensorflow/tfjs-node-gpu (an optional dependency whose install
 * downloads libtensorflow and so is often absent), else the portable WASM backend.
 */
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import { MirrorError } from '../../../fleet/protocol/errors.ts';
import type { ResolvedModel } from '../../../models/registry.ts';
import { checkOutputContract, type InferenceRuntime, type LoadedModel, type TensorOut } from './runtime.ts';
import type { Logger } from '../../core/logger.ts';

export type TfjsBackendPreference = 'auto' | 'tfjs-node-gpu' | 'tfjs-wasm';


async function loadNodeGpu(logger: Logger): Promise<typeof TF | null> {
  try {
    const require = createRequire(import.meta.url);
    // The package is optional: resolve first so its absence is an ordinary outcome, not an error.
    require.resolve('@tensorflow/tfjs-node-gpu');
    const tf = (await import('@tensorflow/tfjs-node-gpu' as string)) as typeof TF;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return tf;
  } catch (err) {
    logger.info({ reason: (err as Error).message.split('\n')[0] }, 'tfjs-node-gpu not available');
    return null;
  }
}

async function loadWasm(): Promise<typeof TF> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

/**
 * `preference` may also be the config's `onnx` pin (an ONNX Runtime choice): for TF.js that means
 * no preference, as `auto`.
 */
export async function createTfjsRuntime(preference: TfjsBackendPreference | 'onnx', logger: Logger): Promise<InferenceRuntime> {
  let tf: typeof TF | null = null;
  let backend = 'tfjs-wasm';
  if (preference !== 'tfjs-wasm') {
    tf = await loadNodeGpu(logger);
    if (tf) backend = 'tfjs-node-gpu';
    else if (preference === 'tfjs-node-gpu') logger.warn({ wanted: preference, using: 'tfjs-wasm' }, 'pinned backend missing, degrading');
  }
  tf ??= await loadWasm();
  const runtime = tf;
  logger.info({ backend }, 'inference runtime ready');

  return {
    backend,
    liveTensors: () => runtime.memory().numTensors,
    async load(model: ResolvedModel): Promise<LoadedModel> {
      const { manifest, files } = model;
      const jsonFile = manifest.files.find((f) => f.path.endsWith('.json'));
      const topologyBytes = jsonFile && files.get(jsonFile.path.split('/').pop()!);
      if (!topologyBytes) throw new MirrorError('MIRROR_ERR_MODEL_FILE', `model ${manifest.name}: no graph JSON among its files`);
      const graph = JSON.parse(topologyBytes.toString('utf8'));
      const weights = Buffer.concat(manifest.files.filter((f) => f.path.endsWith('.bin')).map((f) => files.get(f.path.split('/').pop()!)!));
      const handler = runtime.io.fromMemory({
        modelTopology: graph.modelTopology,
        weightSpecs: graph.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        format: graph.format,
        generatedBy: graph.generatedBy,
        convertedBy: graph.convertedBy,
        userDefinedMetadata: graph.userDefinedMetadata,
        signature: graph.signature,
      });
      let graphModel: TF.GraphModel;
      try {
        graphModel = await runtime.loadGraphModel(handler);
      } catch (err) {
        throw new MirrorError('MIRROR_ERR_MODEL_FILE', `model ${manifest.name}: graph does not load: ${(err as Error).message}`, { cause: err });
      }
      const declared = manifest.input.shape;
      const actual = graphModel.inputs[0]?.shape ?? [];
      const mismatch = actual.length !== declared.length || actual.some((d, i) => d !== -1 && d !== null && d !== declared[i]);
      if (mismatch) {
        graphModel.dispose();
        throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: input shape [${actual}] does not match manifest [${declared}]`);
      }
      const outputNames = graphModel.outputs.map((o) => o.name);
      try {
        checkOutputContract(manifest, graphModel.outputs.map((o) => ({ name: o.name, shape: o.shape ?? null })));
      } catch (err) {
        graphModel.dispose();
        throw err;
      }
      return {
        name: manifest.name,
        version: manifest.version,
        backend,
        manifest,
        async run(input: Float32Array, shape: readonly number[]): Promise<TensorOut[]> {
          const x = runtime.tensor(input, [...shape], 'float32');
          let outputs: TF.Tensor[] = [];
          try {
            const result = graphModel.execute(x, outputNames);
            outputs = Array.isArray(result) ? result : [result];
            return await Promise.all(
              outputs.map(async (t, i) => ({ name: outputNames[i], shape: t.shape, data: (await t.data()) as Float32Array })),
            );
          } finally {
            x.dispose();
            runtime.dispose(outputs);
          }
        },
        dispose: () => graphModel.dispose(),
      };
    },
  };
}
