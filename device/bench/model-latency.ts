/**
 * `npm run bench:models [-- --runs 200 --models face-mesh,iris --threads 1]`: per-model
 * inference latency (p50/p95 ms) on every backend this host has (ONNX Runtime with each usable
 * provider, TF.js WASM, tfjs-node-gpu when installed), on the same input: a real face photo
 * (the face-api demo photo, resized to the model's input) in the model's declared range.
 * Prints progress, then one markdown table. Budget on the 2-core reference CPU: mesh <= 4 ms.
 */
import { createRequire } from 'node:module';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { availableFormats, resolveModel, type ModelManifest } from '../../models/registry.ts';
import { fixedInput } from '../../models/fixed-input.ts';
import { probeHost } from '../vision/runtime/host.ts';
import { createOnnxRuntime } from '../vision/runtime/onnx-runtime.ts';
import { createTfjsRuntime } from '../vision/runtime/tfjs-runtime.ts';
import type { InferenceRuntime } from '../vision/runtime/runtime.ts';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 100);
const WARM = Number(arg('warm') ?? 10);
const MODELS = (arg('models') ?? 'face-detector,face-mesh,iris,segmentation,segmentation-meet').split(',');
const THREADS = arg('threads') ? Number(arg('threads')) : undefined;
const PROVIDERS = (arg('providers') ?? 'tensorrt,cuda,cpu').split(',');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const noisy = {
  info: () => {},
  warn: (o: object, m?: string) => console.error(`  warn: ${m} ${JSON.stringify(o)}`),
  error: (o: object, m?: string) => console.error(`  error: ${m} ${JSON.stringify(o)}`),
};

/** The face photo resized to the model's input, scaled to its range (falls back to a fixed pattern). */
async function photoInput(manifest: ModelManifest): Promise<Float32Array> {
  const [, h, w] = manifest.input.shape;
  const [lo, hi] = manifest.input.range;
  try {
    const file = createRequire(import.meta.url).resolve('@vladmandic/face-api/demo/sample1.jpg');
    const { data } = await sharp(file).removeAlpha().resize(w, h, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
    return Float32Array.from(data, (v) => lo + (v / 255) * (hi - lo));
  } catch {
    return fixedInput(manifest.input.shape, manifest.input.range);
  }
}

interface Row {
  model: string;
  backend: string;
  p50: number;
  p95: number;
  runs: number;
}
const rows: Row[] = [];

async function bench(runtime: InferenceRuntime, name: string, format: 'onnx' | 'tfjs-graph', only?: (backend: string) => boolean): Promise<void> {
  const resolved = await resolveModel(name, undefined, format);
  const model = await runtime.load(resolved);
  try {
    if (only && !only(model.backend)) return;
    const shape = resolved.manifest.input.shape;
    const input = await photoInput(resolved.manifest);
    for (let i = 0; i < WARM; i++) await model.run(input, shape);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await model.run(input, shape);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const row = { model: name, backend: model.backend, p50: times[Math.floor(RUNS * 0.5)], p95: times[Math.min(RUNS - 1, Math.floor(RUNS * 0.95))], runs: RUNS };
    rows.push(row);
    console.error(`  ${name} on ${model.backend}: p50 ${row.p50.toFixed(2)} ms, p95 ${row.p95.toFixed(2)} ms`);
  } finally {
    model.dispose();
  }
}

const host = await probeHost();
console.error(`host: ${host.cpuModel} x${host.cores}, GPU ${host.gpu ?? 'none'}, TensorRT ${host.tensorrtVersion ?? 'none'}; ${RUNS} runs after ${WARM} warm-up per model and backend`);
const stateDir = await mkdtemp(path.join(tmpdir(), 'bench-models-'));

// ONNX Runtime: the configured provider chain (GPU when usable), then CPU alone if the chain was not CPU.
const gpuChain = PROVIDERS.filter((p) => p !== 'cpu');
if (gpuChain.length) {
  console.error(`onnx (providers ${PROVIDERS.join(', ')}) ...`);
  const rt = await createOnnxRuntime({ providers: PROVIDERS, stateDir, logger: noisy, intraOpThreads: THREADS });
  for (const name of MODELS) if ((await availableFormats(name)).includes('onnx')) await bench(rt, name, 'onnx', (b) => b !== 'onnx-cpu');
}
console.error('onnx (cpu) ...');
const cpu = await createOnnxRuntime({ providers: ['cpu'], stateDir, logger: quiet, intraOpThreads: THREADS });
for (const name of MODELS) if ((await availableFormats(name)).includes('onnx')) await bench(cpu, name, 'onnx');

console.error('tfjs-wasm ...');
const wasm = await createTfjsRuntime('tfjs-wasm', quiet);
for (const name of MODELS) if ((await availableFormats(name)).includes('tfjs-graph')) await bench(wasm, name, 'tfjs-graph');

// tfjs-node-gpu switches TF.js's process-wide backend, so it goes last.
try {
  createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
  console.error('tfjs-node-gpu ...');
  const gpu = await createTfjsRuntime('tfjs-node-gpu', quiet);
  if (gpu.backend === 'tfjs-node-gpu') for (const name of MODELS) if ((await availableFormats(name)).includes('tfjs-graph')) await bench(gpu, name, 'tfjs-graph');
} catch {
  console.error('tfjs-node-gpu: not installed (optional dependency), skipped');
}

const backends = [...new Set(rows.map((r) => r.backend))];
const cell = (m: string, b: string): string => {
  const r = rows.find((x) => x.model === m && x.backend === b);
  return r ? `${r.p50.toFixed(2)} / ${r.p95.toFixed(2)}` : '–';
};
console.log(`\nModel latency, p50 / p95 ms per run (${host.cpuModel} x${host.cores}${host.gpu ? `, ${host.gpu}` : ''}; ${RUNS} runs, same photo input per model)\n`);
console.log(`| model | ${backends.join(' | ')} |`);
console.log(`| --- | ${backends.map(() => '---').join(' | ')} |`);
for (const m of MODELS) console.log(`| ${m} | ${backends.map((b) => cell(m, b)).join(' | ')} |`);
const mesh = rows.find((r) => r.model === 'face-mesh' && r.backend.startsWith('onnx'));
if (mesh) console.log(`\nface-mesh budget (<= 4 ms on the 2-core reference CPU): ${mesh.backend} p50 ${mesh.p50.toFixed(2)} ms ${mesh.p50 <= 4 ? 'OK' : 'OVER'}`);
