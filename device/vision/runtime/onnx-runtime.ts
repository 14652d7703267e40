/**
 * ONNX Runtime backend (onnxruntime-node). Providers are tried in the configured order
 * (default TensorRT, CUDA, CPU); a provider whose library, GPU or driver is missing is logged
 * and skipped, never fatal, and the provider actually serving a model is part of its backend
 * name (`onnx-tensorrt`, `onnx-cuda`, `onnx-cpu`).
 *
 * TensorRT engines are tied to the model, the TensorRT version and the GPU, and ONNX Runtime's
 * engine cache never invalidates itself; so each model gets its own cache folder under the state
 * dir keyed by all three (`trt-engines/<model>/<sha256>-trt<version>-<gpu>/`): a restart reuses
 * the engine, a new GPU or TensorRT builds a fresh one, and folders for a GPU/TensorRT this host
 * no longer has are pruned.
 *
 * Length: createOnnxRuntime (~130 lines) holds the provider chain and the sessions it created; its
 * model loader (~65 lines) tries each provider in turn and is the one long step.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { MirrorError } from '../../../fleet/protocol/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { ResolvedModel } from '../../../models/registry.ts';
import { probeHost, slug, type HostInfo } from './host.ts';
import { checkOutputContract, type InferenceRuntime, type LoadedModel, type TensorOut } from './runtime.ts';

export const ONNX_PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type OnnxProvider = (typeof ONNX_PROVIDERS)[number];

export interface OnnxRuntimeOptions {
  /** Preference order; 'cpu' is always appended as the last resort. */
  providers?: readonly string[];
  /** Writable state dir (TensorRT engine cache lives under it). */
  stateDir: string;
  logger: Logger;
  /**
   * Intra-op threads per session; default half the cores, 1 to 2. On the 2-core reference box one
   * thread is the fastest for the mesh (2.0 ms vs 2.5 ms with two non-spinning threads) and
   * leaves the other core to capture, render and encode.
   */
  intraOpThreads?: number;
  /** Let idle intra-op workers spin (lower latency, burns the other core between runs). Default false. */
  allowSpinning?: boolean;
  /** For tests: a host description instead of probing this one. */
  host?: HostInfo;
}

/** The engine cache folder for one model on one host: model hash + TensorRT version + GPU. */
export function tensorrtCacheDir(stateDir: string, modelName: string, sha256: string, host: Pick<HostInfo, 'gpu' | 'tensorrtVersion'>): string {
  const key = `${sha256.slice(0, 16)}-trt${host.tensorrtVersion ?? 'none'}-${slug(host.gpu ?? 'no-gpu')}`;
  return path.join(stateDir, 'trt-engines', modelName, key);
}

/** Removes cache folders of `modelName` built for another GPU or TensorRT version (never valid here again). */
async function pruneStaleEngines(stateDir: string, modelName: string, host: HostInfo, logger: Logger): Promise<void> {
  const dir = path.join(stateDir, 'trt-engines', modelName);
  const suffix = `-trt${host.tensorrtVersion ?? 'none'}-${slug(host.gpu ?? 'no-gpu')}`;
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.endsWith(suffix)) continue;
    await rm(path.join(dir, e), { recursive: true, force: true });
    logger.info({ model: modelName, removed: e }, 'removed TensorRT engines built for another GPU/TensorRT');
  }
}

/** Why a provider cannot be used on this host, or null when it is worth trying. */
function providerObstacle(provider: OnnxProvider, host: HostInfo): string | null {
  if (provider === 'cpu') return null;
  const supported = ort.listSupportedBackends().some((b) => b.name === provider);
  if (!supported) return `this onnxruntime-node build has no ${provider} execution provider`;
  if (provider === 'cuda' && !host.ortProviderLibs.cuda)
    return 'libonnxruntime_providers_cuda.so is not installed (onnxruntime-node downloads it at install time: npm install --onnxruntime-node-install=cuda12, needs network)';
  if (provider === 'tensorrt' && !host.ortProviderLibs.tensorrt) return 'libonnxruntime_providers_tensorrt.so is not installed (see cuda)';
  if (!host.gpu) return 'no NVIDIA GPU visible';
  if (provider === 'tensorrt' && !host.tensorrtVersion) return 'TensorRT (libnvinfer) is not installed';
  return null;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);
}

export async function createOnnxRuntime(opts: OnnxRuntimeOptions): Promise<InferenceRuntime> {
  const { logger, stateDir } = opts;
  const host = opts.host ?? (await probeHost());
  const wanted = (opts.providers ?? ONNX_PROVIDERS).filter((p, i, all) => all.indexOf(p) === i);
  const chain: OnnxProvider[] = [];
  for (const p of wanted) {
    if (!(ONNX_PROVIDERS as readonly string[]).includes(p)) {
      logger.warn({ provider: p, known: ONNX_PROVIDERS }, 'unknown ONNX Runtime provider in config, ignored');
      continue;
    }
    const obstacle = providerObstacle(p as OnnxProvider, host);
    if (!obstacle) chain.push(p as OnnxProvider);
    // A host without a GPU is the normal CPU case (said once below); a GPU host missing a provider is degraded.
    else if (host.gpu) logger.warn({ provider: p, reason: obstacle }, 'ONNX Runtime provider unavailable, degrading');
  }
  if (!host.gpu && chain.length < wanted.length) logger.info({ skipped: wanted.filter((p) => !chain.includes(p as OnnxProvider)) }, 'no GPU on this host: ONNX Runtime runs on the CPU');
  if (!chain.includes('cpu')) chain.push('cpu');
  const threads = opts.intraOpThreads ?? Math.max(1, Math.min(2, Math.floor(host.cores / 2)));
  /** Providers that failed on this host once: not retried for every model. */
  const broken = new Set<OnnxProvider>();
  // Session creation reads process-wide TensorRT env vars: one creation at a time.
  let creating: Promise<unknown> = Promise.resolve();
  logger.info({ providers: chain, intraOpThreads: threads, gpu: host.gpu, tensorrt: host.tensorrtVersion }, 'onnx runtime ready');

  const baseOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    // Spinning worker threads would eat the other core that capture, render and encode need.
    extra: { 'session.intra_op.allow_spinning': opts.allowSpinning ? '1' : '0' },
  };

  async function createSession(model: ResolvedModel, bytes: Buffer, provider: OnnxProvider): Promise<ort.InferenceSession> {
    const providers: ort.InferenceSession.ExecutionProviderConfig[] = [];
    if (provider === 'tensorrt') {
      const sha = model.manifest.files.find((f) => f.path.endsWith('.onnx'))!.sha256;
      const dir = tensorrtCacheDir(stateDir, model.manifest.name, sha, host);
      await pruneStaleEngines(stateDir, model.manifest.name, host, logger);
      await mkdir(dir, { recursive: true });
      await writeFile(
        path.join(dir, 'key.json'),
        JSON.stringify({ model: model.manifest.name, version: model.manifest.version, sha256: sha, tensorrt: host.tensorrtVersion, gpu: host.gpu }, null, 2),
      );
      // onnxruntime-node passes only a device id to the TensorRT EP; the EP then takes its
      // cache settings from these variables, read when the session is created.
      process.env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
      process.env.ORT_TENSORRT_CACHE_PATH = dir;
      process.env.ORT_TENSORRT_TIMING_CACHE_ENABLE = '1';
      providers.push({ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 });
    } else if (provider === 'cuda') {
      providers.push({ name: 'cuda', deviceId: 0 });
    }
    providers.push('cpu');
    return ort.InferenceSession.create(bytes, { ...baseOptions, executionProviders: providers });
  }

  return {
    backend: `onnx-${chain[0]}`,
    liveTensors: () => 0,
    async load(model: ResolvedModel): Promise<LoadedModel> {
      const { manifest, files } = model;
      if (manifest.format !== 'onnx') throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: format ${manifest.format} given to the onnx runtime`);
      const entry = manifest.files.find((f) => f.path.endsWith('.onnx'));
      const bytes = entry && files.get(path.basename(entry.path));
      if (!bytes) throw new MirrorError('MIRROR_ERR_MODEL_FILE', `model ${manifest.name}: no .onnx file among its files`);

      let session: ort.InferenceSession | null = null;
      let provider: OnnxProvider = 'cpu';
      let lastError: unknown = null;
      const turn = creating.then(async () => {
        for (const p of chain) {
          if (broken.has(p)) continue;
          try {
            session = await createSession(model, bytes, p);
            provider = p;
            return;
          } catch (err) {
            lastError = err;
            if (p === 'cpu') return;
            broken.add(p);
            logger.warn({ model: manifest.name, provider: p, reason: firstLine(err) }, 'ONNX Runtime provider failed, degrading to the next one');
          }
        }
      });
      creating = turn.catch(() => {});
      await turn;
      if (!session) {
        throw new MirrorError('MIRROR_ERR_MODEL_FILE', `model ${manifest.name}: ${entry!.path} is not a loadable ONNX model: ${firstLine(lastError)}`, { cause: lastError });
      }
      const s: ort.InferenceSession = session;

      const declared = manifest.input.shape;
      const meta = s.inputMetadata[0];
      const actual = meta && meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' ? d : -1)) : [];
      const mismatch = s.inputNames.length !== 1 || actual.length !== declared.length || actual.some((d, i) => d !== -1 && d !== declared[i]);
      if (mismatch) {
        await s.release();
        throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: input shape [${actual}] does not match manifest [${declared}]`);
      }
      const inputName = s.inputNames[0];
      const outputNames = [...s.outputNames];
      try {
        checkOutputContract(
          manifest,
          s.outputMetadata.map((o) => ({ name: o.name, shape: o.isTensor ? o.shape.map((d) => (typeof d === 'number' ? d : null)) : null })),
        );
      } catch (err) {
        await s.release();
        throw err;
      }
      const backend = `onnx-${provider}`;
      logger.info({ model: manifest.name, version: manifest.version, backend }, 'onnx model loaded');
      let disposed = false;
      return {
        name: manifest.name,
        version: manifest.version,
        backend,
        manifest,
        async run(input: Float32Array, shape: readonly number[]): Promise<TensorOut[]> {
          if (disposed) throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: run after dispose`);
          if (shape.length !== declared.length || shape.some((d, i) => d !== declared[i]) || input.length !== declared.reduce((a, b) => a * b, 1)) {
            throw new MirrorError('MIRROR_ERR_MODEL_CONTRACT', `model ${manifest.name}: input [${shape}] (${input.length} values) does not match [${declared}]`);
          }
          const out = await s.run({ [inputName]: new ort.Tensor('float32', input, [...shape]) });
          return outputNames.map((name) => {
            const t = out[name];
            return { name, shape: [...t.dims], data: t.data as Float32Array };
          });
        },
        dispose: () => {
          if (disposed) return;
          disposed = true;
          void s.release().catch(() => {});
        },
      };
    },
  };
}
