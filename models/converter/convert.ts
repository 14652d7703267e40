/**
 * `npm run models:convert [-- name ...]`: converts the bundled TF.js graph models to ONNX,
 * writes `models/onnx/<name>.onnx` and its manifest `models/manifests/<name>.onnx.json`
 * (sha256 + size), and checks each result against TF.js (CPU backend) on a random input before
 * writing anything. Deterministic: the same inputs give byte-identical files.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { fixedInput } from '../fixed-input.ts';
import { manifestFileName, resolveModel, type ModelManifest } from '../registry.ts';
import { convertTfjsGraph, graphArtifacts, UnsupportedOpsError, type TfjsGraphJson } from './tfjs-to-onnx.ts';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONVERTER_ID = 'models/converter tfjs-to-onnx v1 (opset 13, NCHW layout pass)';
/** The logical models that have a TF.js graph to convert. */
export const CONVERTIBLE = ['face-detector', 'face-mesh', 'attention-mesh', 'iris', 'segmentation', 'segmentation-meet'];

export async function convertModel(name: string): Promise<{ manifest: ModelManifest; bytes: Uint8Array; maxAbsDiff: number; ops: Record<string, number> }> {
  const { manifest, files } = await resolveModel(name);
  const jsonEntry = manifest.files.find((f) => f.path.endsWith('.json'))!;
  const graph = JSON.parse(files.get(path.basename(jsonEntry.path))!.toString('utf8')) as TfjsGraphJson;
  const weights = Buffer.concat(manifest.files.filter((f) => f.path.endsWith('.bin')).map((f) => files.get(path.basename(f.path))!));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const result = await convertTfjsGraph(tf, name, graph, weightData);

  // Self-check before writing: ONNX Runtime on the new file vs TF.js on the original.
  const input = fixedInput(manifest.input.shape, manifest.input.range);
  const session = await ort.InferenceSession.create(result.onnx, { graphOptimizationLevel: 'all' });
  const ortOut = await session.run({ [result.input.name]: new ort.Tensor('float32', input, manifest.input.shape) });
  await session.release();
  const model = await tf.loadGraphModel(tf.io.fromMemory(graphArtifacts(graph, weightData)));
  const x = tf.tensor(input, manifest.input.shape);
  const tfOut = model.execute(x, model.outputs.map((o) => o.name)) as tf.Tensor | tf.Tensor[];
  const tfList = Array.isArray(tfOut) ? tfOut : [tfOut];
  let maxAbsDiff = 0;
  result.outputs.forEach((o, i) => {
    const a = tfList[i].dataSync();
    const b = ortOut[o.name].data as Float32Array;
    if (a.length !== b.length) throw new Error(`model ${name}: output ${o.name} has ${b.length} values in ONNX, ${a.length} in TF.js`);
    for (let k = 0; k < a.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[k] - b[k]));
  });
  tf.dispose([x, ...tfList]);
  model.dispose();

  const sha256 = createHash('sha256').update(result.onnx).digest('hex');
  const onnxManifest: ModelManifest = {
    name,
    task: manifest.task,
    format: 'onnx',
    version: `${manifest.version}+onnx13`,
    license: manifest.license,
    files: [{ path: `onnx/${name}.onnx`, sha256, size: result.onnx.length }],
    input: manifest.input,
    outputs: manifest.outputs,
    decode: manifest.decode,
    convertedFrom: { format: manifest.format, version: manifest.version, converter: CONVERTER_ID },
  };
  return { manifest: onnxManifest, bytes: result.onnx, maxAbsDiff, ops: result.tfOps };
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const names = process.argv.slice(2).length ? process.argv.slice(2) : CONVERTIBLE;
  await mkdir(path.join(modelsDir, 'onnx'), { recursive: true });
  let failed = false;
  for (const name of names) {
    try {
      const started = Date.now();
      const { manifest, bytes, maxAbsDiff, ops } = await convertModel(name);
      await writeFile(path.join(modelsDir, manifest.files[0].path), bytes);
      await writeFile(path.join(modelsDir, 'manifests', manifestFileName(name, 'onnx')), `${JSON.stringify(manifest, null, 2)}\n`);
      console.log(
        `${name}: ${manifest.files[0].path} ${(bytes.length / 1024).toFixed(0)} KiB, max |onnx - tfjs| on a random input ${maxAbsDiff.toExponential(2)}, ${Date.now() - started} ms`,
      );
      console.log(`  TF.js ops: ${Object.entries(ops).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    } catch (err) {
      failed = true;
      if (err instanceof UnsupportedOpsError) console.error(`${name}: not converted: ${err.message}`);
      else console.error(`${name}: conversion failed: ${(err as Error).stack}`);
    }
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
