/**
 * `npm run bench:models [-- --runs 200 --models face-mesh,iris --threads 1]`: per-model
 * inference latency (p50/p95 ms) on every backend this host has (ONNX Runtime with each usable
 * provider, TF.js WASM, tfjs-node-gpu when installed), on the same input: a real face photo
 * (the face-api demo photo, resized to the model's input) in the model's declared range.
 * Prints progress, then one markdown table. Budget on the 2-core reference CPU: mesh <= 4 ms.
 *
 * Then the precision variants (models/converter/variants.ts) of each model on ONNX Runtime CPU:
 * p50/p95 wall ms and CPU ms per run (process.cpuUsage: the box is shared, wall time is inflated
 * by load, CPU time much less), file size, and parity with float32 measured here on the held-out
 * face-api demo photos through the daemon's decoders (landmark px, detector box IoU, mask
 * difference), with the autotune's accuracy-budget verdict. `--no-variants` skips this part.
 *
 * And the face mesh choice (vision/mesh-choice.ts): the attention mesh's cost per face against the
 * plain mesh's on ONNX Runtime CPU (wall p50 and CPU ms per run, the same face crop), the ratio,
 * and what `vision.mesh: auto` serves with the default attentionMaxCost.
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
import { DEFAULT_ACCURACY_BUDGET, outsideBudget } from '../vision/runtime/select.ts';
import { availableVariants } from '../../models/registry.ts';
import { EVALUATION_PHOTOS, evaluationFiles, loadPhotoSet, parityOf } from '../../models/converter/variants.ts';
import { validateConfig } from '../config/load.ts';
import { sampleRegion } from '../vision/image-ops.ts';
import { ATTENTION_MESH, PLAIN_MESH } from '../vision/mesh-choice.ts';
import { printTable } from './table.ts';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 100);
const WARM = Number(arg('warm') ?? 10);
const MODELS = (arg('models') ?? 'face-detector,face-mesh,attention-mesh,iris,segmentation,segmentation-meet').split(',');
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
const failures: string[] = [];

async function bench(runtime: InferenceRuntime, name: string, format: 'onnx' | 'tfjs-graph', only?: (backend: string) => boolean): Promise<void> {
  const resolved = await resolveModel(name, undefined, format);
  const model = await runtime.load(resolved);
  try {
    if (only && !only(model.backend)) return;
    const shape = resolved.manifest.input.shape;
    const input = await photoInput(resolved.manifest);
    try {
      await model.run(input, shape);
    } catch (err) {
      // The attention mesh on TF.js WASM: "BatchMatMul for non non-float32 tensors not yet supported".
      failures.push(`${name} on ${model.backend}: does not run (${(err as Error).message.split('\n')[0]})`);
      console.error(`  ${failures[failures.length - 1]}`);
      return;
    }
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
for (const f of failures) console.log(`\n${f}`);

if (MODELS.includes(ATTENTION_MESH) && MODELS.includes(PLAIN_MESH)) await benchMeshChoice();

/** Plain vs attention mesh per face on onnx-cpu: the attention mesh's cost and what auto serves. */
async function benchMeshChoice(): Promise<void> {
  const file = createRequire(import.meta.url).resolve('@vladmandic/face-api/demo/sample1.jpg');
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  const region = { cx: info.width / 2, cy: info.height / 2, size: Math.min(info.width, info.height) * 0.6, angle: 0 };
  const measured: Array<{ name: string; p50: number; cpuMs: number }> = [];
  for (const name of [PLAIN_MESH, ATTENTION_MESH]) {
    const model = await cpu.load(await resolveModel(name, undefined, 'onnx'));
    try {
      const shape = model.manifest.input.shape;
      const input = sampleRegion(image, region, shape[1], model.manifest.input.range);
      measured.push({ name, ...(await timeRuns(model, input, shape)) });
    } finally {
      model.dispose();
    }
  }
  const [plain, attention] = measured;
  const maxCost = validateConfig({}).vision.attentionMaxCost;
  // The daemon's auto choice compares CPU time on CPU backends (wall time shifts with the machine's load).
  const ratio = attention.cpuMs / plain.cpuMs;
  printTable(
    `Face mesh per face on onnx-cpu fp32 (${host.cpuModel} x${host.cores}, intra-op threads ${THREADS ?? 'default'}; ${RUNS} runs on one face crop)`,
    ['mesh', 'points', 'wall p50 ms', 'CPU ms/run', 'x plain (wall)', 'x plain (CPU)'],
    measured.map((m) => [m.name, m.name === ATTENTION_MESH ? 478 : 468, m.p50.toFixed(2), m.cpuMs.toFixed(2), (m.p50 / plain.p50).toFixed(2), (m.cpuMs / plain.cpuMs).toFixed(2)]),
  );
  console.log(`\nvision.mesh auto (attentionMaxCost ${maxCost}): ${ratio <= maxCost ? ATTENTION_MESH : PLAIN_MESH} (attention costs ${ratio.toFixed(2)}x the plain mesh in CPU time here; the daemon decides on its own autotuned timings)`);
}

/** WARM untimed runs, then RUNS timed ones: wall times sorted ascending (p50 at RUNS/2) and the CPU time per run. */
async function timeRuns(model: { run(input: Float32Array, shape: number[]): Promise<unknown> }, input: Float32Array, shape: number[]): Promise<{ times: number[]; p50: number; cpuMs: number }> {
  for (let i = 0; i < WARM; i++) await model.run(input, shape);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await model.run(input, shape);
    times.push(performance.now() - t0);
  }
  const used = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { times, p50: times[Math.floor(RUNS / 2)], cpuMs: (used.user + used.system) / 1000 / RUNS };
}

if (!args.includes('--no-variants')) await benchVariants();

/** The precision variants on ONNX Runtime CPU: speed (wall and CPU time) and parity with float32. */
async function benchVariants(): Promise<void> {
  console.error(`variants: finding the faces on ${EVALUATION_PHOTOS} ...`);
  const photos = await loadPhotoSet(cpu, evaluationFiles());
  const lines: string[] = [];
  for (const name of MODELS) {
    const variants = await availableVariants(name, 'onnx');
    const fp32 = await cpu.load(await resolveModel(name, undefined, 'onnx'));
    try {
      for (const variant of variants) {
        const resolved = await resolveModel(name, undefined, 'onnx', variant);
        const model = variant === 'fp32' ? fp32 : await cpu.load(resolved);
        try {
          const shape = resolved.manifest.input.shape;
          const input = await photoInput(resolved.manifest);
          const { times, cpuMs } = await timeRuns(model, input, shape);
          const parity = variant === 'fp32' ? null : await parityOf(fp32, model, photos.images, photos.faces);
          const verdict = parity ? (outsideBudget(parity, DEFAULT_ACCURACY_BUDGET) ?? 'within budget') : 'reference';
          const kib = (resolved.manifest.files[0].size ?? 0) / 1024;
          const par = parity ? `${parity.metric} mean ${parity.mean.toFixed(parity.metric === 'mask-abs' ? 4 : 3)} / worst ${parity.worst.toFixed(parity.metric === 'mask-abs' ? 4 : 3)} (${parity.samples})` : '–';
          lines.push(`| ${name} | ${variant} | ${kib.toFixed(0)} | ${times[Math.floor(RUNS * 0.5)].toFixed(2)} / ${times[Math.min(RUNS - 1, Math.floor(RUNS * 0.95))].toFixed(2)} | ${cpuMs.toFixed(2)} | ${par} | ${verdict} |`);
          console.error(`  ${name} ${variant}: p50 ${times[Math.floor(RUNS * 0.5)].toFixed(2)} ms, CPU ${cpuMs.toFixed(2)} ms/run, ${par}`);
        } finally {
          if (model !== fp32) model.dispose();
        }
      }
    } finally {
      fp32.dispose();
    }
  }
  console.log(`\nPrecision variants on onnx-cpu (${host.cpuModel} x${host.cores}, intra-op threads ${THREADS ?? 'default'}; ${RUNS} runs; parity vs fp32 on ${EVALUATION_PHOTOS}, ${photos.faces.length} faces; budget ${JSON.stringify(DEFAULT_ACCURACY_BUDGET)})\n`);
  console.log('| model | variant | KiB | wall p50 / p95 ms | CPU ms/run | parity vs fp32 (mean / worst, samples) | autotune budget |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const l of lines) console.log(l);
  console.log(host.gpu ? '' : '\nNo NVIDIA GPU on this host: the TensorRT FP16/INT8 path (trt fp16/int8 engines) was not measured.');
}
