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
 */
import { mkdir } from 'node:fs/promises';
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
   * Resolves to refined − render in 8-bit levels (size² x 3).
   */
  refine(bare: Uint8Array, render: Uint8Array, coverage: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

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
  let session: ort.InferenceSession | null = null;
  let provider: OnnxProvider = 'cpu';
  let lastError: unknown = null;
  for (const p of chain) {
    const providers: ort.InferenceSession.ExecutionProviderConfig[] = [];
    if (p === 'tensorrt') {
      const cacheDir = tensorrtCacheDir(opts.stateDir, manifest.name, entry.sha256, host);
      await mkdir(cacheDir, { recursive: true });
      process.env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
      process.env.ORT_TENSORRT_CACHE_PATH = cacheDir;
      providers.push({ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 });
    } else if (p === 'cuda') providers.push({ name: 'cuda', deviceId: 0 });
    providers.push('cpu');
    try {
      session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: providers });
      provider = p;
      break;
    } catch (err) {
      lastError = err;
      if (p !== 'cpu') opts.logger.warn({ model: manifest.name, provider: p, reason: String((err as Error).message).split('\n')[0] }, 'GAN: provider failed, degrading to the next');
    }
  }
  if (!session) throw new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: ${entry.path} is not a loadable ONNX model: ${String((lastError as Error)?.message).split('\n')[0]}`);
  const s: ort.InferenceSession = session;
  try {
    checkGraph(s, manifest);
  } catch (err) {
    await s.release();
    throw err;
  }
  const size = manifest.input.size;
  const [lo, hi] = manifest.input.range;
  const scale = (hi - lo) / 255;
  const n = size * size;
  const image = new Float32Array(3 * n);
  const render = new Float32Array(3 * n);
  const mask = new Float32Array(n);
  const names = manifest.tensors;
  let disposed = false;
  opts.logger.info({ model: manifest.name, version: manifest.version, backend: `onnx-${provider}`, size, latencyClass: manifest.latencyClass }, 'GAN model loaded');
  return {
    manifest,
    backend: `onnx-${provider}`,
    size,
    async refine(bare, rendered, coverage) {
      if (disposed) throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: run after dispose`);
      // HWC bytes → NCHW in the model's range.
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          image[c * n + i] = bare[i * 3 + c] * scale + lo;
          render[c * n + i] = rendered[i * 3 + c] * scale + lo;
        }
        mask[i] = coverage[i];
      }
      const out = await s.run({
        [names.image]: new ort.Tensor('float32', image, [1, 3, size, size]),
        [names.render]: new ort.Tensor('float32', render, [1, 3, size, size]),
        [names.mask]: new ort.Tensor('float32', mask, [1, 1, size, size]),
      });
      const refined = out[names.refined].data as Float32Array;
      const residual = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) residual[i * 3 + c] = (refined[c * n + i] - render[c * n + i]) / scale;
      return residual;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      void s.release().catch(() => {});
    },
  };
}

/** The graph's inputs and output match the manifest's names and shapes, or the model is refused naming the tensor. */
function checkGraph(s: ort.InferenceSession, manifest: GanManifest): void {
  const shapes = ganTensorShapes(manifest);
  const fail = (field: string, why: string) => {
    throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `GAN model ${manifest.name}: field "${field}": ${why}`);
  };
  for (const key of ['image', 'render', 'mask'] as const) {
    const name = manifest.tensors[key];
    const i = s.inputNames.indexOf(name);
    if (i < 0) fail(`tensors.${key}`, `the graph has no input "${name}" (inputs: ${s.inputNames.join(', ')})`);
    const meta = s.inputMetadata[i];
    const actual = meta && meta.isTensor ? meta.shape : [];
    if (!sameShape(actual, shapes[key])) fail('input.size', `input "${name}" has shape [${actual.join(',')}], the manifest's size ${manifest.input.size} means [${shapes[key].join(',')}]`);
  }
  if (s.inputNames.length !== 3) fail('tensors', `the graph takes ${s.inputNames.length} inputs, the contract 3 (image, render, mask)`);
  const o = s.outputNames.indexOf(manifest.tensors.refined);
  if (o < 0) fail('tensors.refined', `the graph has no output "${manifest.tensors.refined}" (outputs: ${s.outputNames.join(', ')})`);
  const meta = s.outputMetadata[o];
  const actual = meta && meta.isTensor ? meta.shape : [];
  if (!sameShape(actual, shapes.refined)) fail('input.size', `output "${manifest.tensors.refined}" has shape [${actual.join(',')}], expected [${shapes.refined.join(',')}]`);
}
