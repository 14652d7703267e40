/**
 * A verified GAN try-on model (models/gan/manifest.ts) opened in ONNX Runtime, and the one call the
 * stage makes: aligned bare crop + render + coverage in, the refinement out as a residual on the
 * render (8-bit levels per channel, crop space).
 *
 * Providers as device/vision/runtime picks them: the configured order (TensorRT, CUDA, CPU by
 * default), a provider whose library, GPU or TensorRT is missing skipped with a log line, one
 * that fails to create the session degraded to the next; TensorRT engines cached per model hash,
 * TensorRT version and GPU (tensorrtCacheDir). The session's own input and output shapes are
 * checked against the manifest, so a model whose graph disagrees with its manifest is refused
 * naming the tensor.
 *
 * The session lives on a worker thread (gan-worker.mjs): ONNX Runtime for Node runs a session on
 * the calling thread, and a model on the frame loop's thread would hold up every frame while it
 * runs, background or not.
 */
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { ganTensorShapes, verifyGanModel, type GanManifest } from '../../models/gan/manifest.ts';
import type { Logger } from '../core/logger.ts';
import { probeHost, type HostInfo } from '../vision/runtime/host.ts';
import { ONNX_PROVIDERS, tensorrtCacheDir, type OnnxProvider } from '../vision/runtime/onnx-runtime.ts';

export interface GanModel {
  readonly manifest: GanManifest;
  /** `onnx-cpu`, `onnx-cuda`, `onnx-tensorrt`. */
  readonly backend: string;
  readonly size: number;
  /**
   * Refines one aligned crop: `bare` and `render` RGB bytes (size² x 3), `coverage` 0..1 (size²).
   * Resolves to refined − render in 8-bit levels (size² x 3); with `guard`, the residual the device
   * may paste (device/gan/residual-guard.ts, run on the model's thread too).
   */
  refine(bare: Uint8Array, render: Uint8Array, coverage: Float32Array, guard?: GuardInputs): Promise<Float32Array>;
  /** The last run's time on the model's thread, ms (conversions, the session run and the guard; not the wait to hear of it). */
  readonly lastRunMs: number;
  /** Of lastRunMs, the guard's share, ms. */
  readonly lastGuardMs: number;
  dispose(): void;
}

/** What the guard needs beside the crops: the paste weight and the drawn light (crop space; see residual-guard.ts). */
export interface GuardInputs {
  weight: Float32Array;
  light: Float32Array | null;
}

/** What device/gan/gan-worker.mjs says. */
interface ProviderFailure {
  provider: OnnxProvider;
  reason: string;
}
interface WorkerReady {
  type: 'ready';
  provider: OnnxProvider;
  failures: ProviderFailure[];
  inputs: Array<{ name: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; shape: Array<number | string> }>;
}
interface WorkerFailed {
  type: 'failed';
  failures: ProviderFailure[];
}
type WorkerResult = { id: number; residual: Float32Array; ms: number; guardMs: number } | { id: number; error: string };

export interface GanModelOptions {
  providers: readonly string[];
  stateDir: string;
  logger: Logger;
  /** Intra-op threads (default 1: the other core keeps capture, vision, render and encode going). */
  threads?: number;
  host?: HostInfo;
}

/** Why a provider cannot run here (null = worth trying); the vision runtime's rules. */
function providerObstacle(provider: OnnxProvider, host: HostInfo): string | null {
  if (provider === 'cpu') return null;
  if (!ort.listSupportedBackends().some((b) => b.name === provider)) return `this onnxruntime-node build has no ${provider} execution provider`;
  if (!host.ortProviderLibs[provider]) return `libonnxruntime_providers_${provider}.so is not installed`;
  if (!host.gpu) return 'no NVIDIA GPU visible';
  if (provider === 'tensorrt' && !host.tensorrtVersion) return 'TensorRT (libnvinfer) is not installed';
  return null;
}

function sameShape(actual: ReadonlyArray<number | string>, declared: readonly number[]): boolean {
  return actual.length === declared.length && actual.every((d, i) => typeof d !== 'number' || d === -1 || d === declared[i]);
}

/** Verifies the model directory and opens its ONNX graph on the best provider available. */
export async function openGanModel(dir: string, opts: GanModelOptions): Promise<GanModel> {
  const { manifest, files } = await verifyGanModel(dir);
  if (manifest.format !== 'onnx') {
    throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: field "format": ${manifest.format} models do not run here; the device runs GAN models in ONNX (CPU, CUDA, TensorRT)`);
  }
  const entry = manifest.files.find((f) => f.path.endsWith('.onnx'));
  const bytes = entry && files.get(entry.path);
  if (!bytes) throw new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: field "files": no .onnx file listed`);
  const host = opts.host ?? (await probeHost());
  const chain: OnnxProvider[] = [];
  for (const p of opts.providers) {
    if (!(ONNX_PROVIDERS as readonly string[]).includes(p) || chain.includes(p as OnnxProvider)) continue;
    const obstacle = providerObstacle(p as OnnxProvider, host);
    if (obstacle === null) chain.push(p as OnnxProvider);
    else if (host.gpu) opts.logger.warn({ model: manifest.name, provider: p, reason: obstacle }, 'GAN: ONNX Runtime provider unavailable, degrading');
  }
  if (!chain.includes('cpu')) chain.push('cpu');

  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { 'session.intra_op.allow_spinning': '0' },
  };
  const attempts: Array<{ provider: OnnxProvider; executionProviders: ort.InferenceSession.ExecutionProviderConfig[] }> = [];
  for (const p of chain) {
    const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] = [];
    if (p === 'tensorrt') {
      const cacheDir = tensorrtCacheDir(opts.stateDir, manifest.name, entry.sha256, host);
      await mkdir(cacheDir, { recursive: true });
      // Set here, before the worker starts: ONNX Runtime reads the process environment.
      process.env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
      process.env.ORT_TENSORRT_CACHE_PATH = cacheDir;
      executionProviders.push({ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 });
    } else if (p === 'cuda') executionProviders.push({ name: 'cuda', deviceId: 0 });
    executionProviders.push('cpu');
    attempts.push({ provider: p, executionProviders });
  }
  const size = manifest.input.size;
  const worker = new Worker(new URL('./gan-worker.mjs', import.meta.url), {
    workerData: { bytes, chain: attempts, options: base, tensors: manifest.tensors, size, range: manifest.input.range },
  });
  let ready: WorkerReady;
  try {
    ready = await new Promise<WorkerReady>((resolve, reject) => {
      worker.once('message', (m: WorkerReady | WorkerFailed) => (m.type === 'ready' ? resolve(m) : reject(loadError(manifest.name, entry.path, m.failures))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: its worker thread exited (${code}) before the session opened`)));
    });
    for (const f of ready.failures) if (f.provider !== 'cpu') opts.logger.warn({ model: manifest.name, provider: f.provider, reason: f.reason }, 'GAN: provider failed, degrading to the next');
    checkGraph(ready, manifest);
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  const n = size * size;
  const pending = new Map<number, { resolve: (r: Float32Array) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let disposed = false;
  let lastRunMs = 0;
  let lastGuardMs = 0;
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (m: WorkerResult) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if ('error' in m) p.reject(new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: run failed: ${m.error}`));
    else {
      lastRunMs = m.ms;
      lastGuardMs = m.guardMs;
      p.resolve(m.residual);
    }
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', () => failAll(new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: its worker thread exited`)));
  const backend = `onnx-${ready.provider}`;
  opts.logger.info({ model: manifest.name, version: manifest.version, backend, size, latencyClass: manifest.latencyClass }, 'GAN model loaded');
  return {
    manifest,
    backend,
    size,
    get lastRunMs() {
      return lastRunMs;
    },
    get lastGuardMs() {
      return lastGuardMs;
    },
    refine(bare, render, coverage, guard) {
      if (disposed) return Promise.reject(new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: run after dispose`));
      if (bare.length !== n * 3 || render.length !== n * 3 || coverage.length !== n || (guard && (guard.weight.length !== n || (guard.light && guard.light.length !== n)))) {
        return Promise.reject(new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: crops must be ${size}x${size}`));
      }
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Copies: the caller keeps its buffers.
        worker.postMessage({ id, bare, render, coverage, guard });
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      void worker.terminate().catch(() => {});
    },
  };
}

function loadError(name: string, file: string, failures: readonly ProviderFailure[]): MirrorError {
  const last = failures[failures.length - 1];
  return new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${name}: ${file} is not a loadable ONNX model: ${last ? last.reason : 'no provider tried'}`);
}

/** The graph's inputs and output match the manifest's names and shapes, or the model is refused naming the tensor. */
function checkGraph(graph: Pick<WorkerReady, 'inputs' | 'outputs'>, manifest: GanManifest): void {
  const shapes = ganTensorShapes(manifest);
  const fail = (field: string, why: string) => {
    throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: field "${field}": ${why}`);
  };
  for (const key of ['image', 'render', 'mask'] as const) {
    const name = manifest.tensors[key];
    const input = graph.inputs.find((t) => t.name === name);
    if (!input) fail(`tensors.${key}`, `the graph has no input "${name}" (inputs: ${graph.inputs.map((t) => t.name).join(', ')})`);
    const actual = input!.shape;
    if (!sameShape(actual, shapes[key])) fail('input.size', `input "${name}" has shape [${actual.join(',')}], the manifest's size ${manifest.input.size} means [${shapes[key].join(',')}]`);
  }
  if (graph.inputs.length !== 3) fail('tensors', `the graph takes ${graph.inputs.length} inputs, the contract 3 (image, render, mask)`);
  const output = graph.outputs.find((t) => t.name === manifest.tensors.refined);
  if (!output) fail('tensors.refined', `the graph has no output "${manifest.tensors.refined}" (outputs: ${graph.outputs.map((t) => t.name).join(', ')})`);
  const actual = output!.shape;
  if (!sameShape(actual, shapes.refined)) fail('input.size', `output "${manifest.tensors.refined}" has shape [${actual.join(',')}], expected [${shapes.refined.join(',')}]`);
}
