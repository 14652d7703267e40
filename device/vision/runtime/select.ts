/**
 * Picks the backend per model. With `auto`, every backend that has the model (an ONNX manifest
 * → ONNX Runtime with the configured providers; a TF.js graph → tfjs-node-gpu when installed,
 * else WASM) is timed on a fixed input (a few warm runs, then the median of timed runs) and the
 * fastest serves it. The choice is cached in the state dir, keyed by the model's versions and the
 * host (CPU, GPU, TensorRT, the backends and providers on offer), so a restart loads the winner
 * straight away and a different host or model re-times. Any other `backend` pins it (a model
 * with no file for the pinned backend is chosen automatically, with a warning). A backend that
 * fails to load a model is logged and skipped; the last failure is thrown only when none is left.
 *
 * TF.js keeps one active backend per process (tfjs-node-gpu and WASM share tfjs-core), so at most
 * one TF.js runtime is created: tfjs-node-gpu when installed (unless WASM is pinned), else WASM.
 *
 * Length: createModelLoader (~175 lines) is a factory of twelve functions (the longest ~65 lines,
 * the timing run) sharing the runtimes created once per process and the cached choice.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { availableFormats, availableVariants, loadManifest, resolveModel, type ModelFormat, type ParityReport, type ResolvedModel } from '../../../models/registry.ts';
import { MODEL_VARIANTS, type ModelVariant } from '../../../models/decode.ts';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/fs-atomic.ts';
import type { Logger } from '../../core/logger.ts';
import { fixedInput } from '../../../models/fixed-input.ts';
import { probeHost, type HostInfo } from './host.ts';
import { createOnnxRuntime } from './onnx-runtime.ts';
import type { InferenceRuntime, LoadedModel } from './runtime.ts';
import { createTfjsRuntime } from './tfjs-runtime.ts';

export type BackendPreference = 'auto' | 'onnx' | 'tfjs-node-gpu' | 'tfjs-wasm';

export interface ModelChoice {
  /** Backend serving the model, as LoadedModel.backend says (`onnx-cpu`, `tfjs-wasm`, ...). */
  backend: string;
  /** Precision variant serving (fp32, or a compressed fp16/int8 ONNX variant within the accuracy budget). */
  variant: ModelVariant;
  /** Median ms per run measured when the choice was made (null when pinned and not timed). */
  msPerRun: number | null;
  pinned: boolean;
  /** Median ms per candidate timed (`onnx-cpu`, `onnx-cpu/int8`, `tfjs-wasm`, ...), when timed. */
  timings?: Record<string, number>;
  /** Variants left out before timing, with why (outside the accuracy budget, no parity measured). */
  rejected?: Record<string, string>;
}

/**
 * How far a compressed variant may be from float32 (its manifest's measured parity) to be a
 * candidate: mean extra landmark error in frame pixels (mesh, iris), mean box IoU with float32
 * (detector), mean mask difference (segmentation).
 */
export interface AccuracyBudget {
  landmarkPx: number;
  boxIou: number;
  maskAbs: number;
}
export const DEFAULT_ACCURACY_BUDGET: AccuracyBudget = { landmarkPx: 0.5, boxIou: 0.9, maskAbs: 0.02 };
export type PrecisionPreference = 'auto' | ModelVariant;

/** Why `parity` is outside `budget`, or null when the variant may be timed. */
export function outsideBudget(parity: ParityReport | undefined, budget: AccuracyBudget): string | null {
  if (!parity) return 'no parity measured';
  const { metric, mean } = parity;
  if (metric === 'landmark-px' && mean > budget.landmarkPx) return `mean extra landmark error ${mean.toFixed(3)} px > ${budget.landmarkPx} px`;
  if (metric === 'box-iou' && mean < budget.boxIou) return `mean box IoU with fp32 ${mean.toFixed(3)} < ${budget.boxIou}`;
  if (metric === 'mask-abs' && mean > budget.maskAbs) return `mean mask difference ${mean.toFixed(4)} > ${budget.maskAbs}`;
  return null;
}

export interface ModelLoaderOptions {
  backend: BackendPreference;
  providers: string[];
  stateDir: string;
  logger: Logger;
  /**
   * Precision: `auto` times the compressed ONNX variants within `accuracyBudget` beside float32 and
   * keeps the fastest; fp32/fp16/int8 pins one (float32 when the model has no such variant).
   * Only an `auto` backend is timed: a pinned backend serves float32 unless the precision is pinned too.
   */
  precision?: PrecisionPreference;
  accuracyBudget?: AccuracyBudget;
  /** Test hooks. */
  manifestDir?: string;
  warmRuns?: number;
  timedRuns?: number;
  host?: HostInfo;
}

export interface ModelLoader {
  /**
   * Loads a logical model (`face-detector`, `face-mesh`, `iris`, `segmentation`) on its backend.
   * `manifestDir`: a registry directory holding it instead of the bundled one (a committed update),
   * chosen among the formats and variants that directory holds, as the bundled one is among its own.
   */
  load(modelName: string, manifestDir?: string): Promise<LoadedModel>;
  /**
   * Loads an already verified model (e.g. a staged update) on the runtime for its format:
   * ONNX Runtime for `onnx`, the process's TF.js runtime for `tfjs-graph`. Not timed, not cached.
   */
  loadResolved(model: ResolvedModel): Promise<LoadedModel>;
  choices(): Record<string, ModelChoice>;
  /** Tensors alive in the runtimes created so far (flat over time = no leak). */
  liveTensors(): number;
  /**
   * The loader as an InferenceRuntime (for code that holds one: health's live tensor count, the
   * update host loading a staged ResolvedModel): `load` dispatches on the model's format.
   */
  asRuntime(): InferenceRuntime;
}

type Family = 'onnx' | 'tfjs';
const FORMAT_OF: Record<Family, ModelFormat> = { onnx: 'onnx', tfjs: 'tfjs-graph' };
const CACHE_FILE = 'vision-backends.json';

/** The persisted backend choices: a file on disk, so validated when read (a bad one is re-timed). */
const CacheEntrySchema = z.object({
  key: z.string(),
  family: z.enum(['onnx', 'tfjs']),
  variant: z.enum(MODEL_VARIANTS).default('fp32'),
  rejected: z.record(z.string(), z.string()).default({}),
  backend: z.string(),
  msPerRun: z.number(),
  timings: z.record(z.string(), z.number()),
  decidedAt: z.string(),
});
type CacheEntry = z.infer<typeof CacheEntrySchema>;
const CacheFileSchema = z.object({ v: z.literal(1), models: z.record(z.string(), CacheEntrySchema) });
type CacheFile = z.infer<typeof CacheFileSchema>;

function nodeGpuInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function createModelLoader(opts: ModelLoaderOptions): Promise<ModelLoader> {
  const { logger, stateDir } = opts;
  const warmRuns = opts.warmRuns ?? 5;
  const timedRuns = opts.timedRuns ?? 15;
  const host = opts.host ?? (await probeHost());
  const tfjsKind = opts.backend !== 'tfjs-wasm' && nodeGpuInstalled() ? 'tfjs-node-gpu' : 'tfjs-wasm';
  const pinnedFamily: Family | null = opts.backend === 'auto' ? null : opts.backend === 'onnx' ? 'onnx' : 'tfjs';
  const hostKey = [
    `cpu=${host.cpuModel}x${host.cores}`,
    `gpu=${host.gpu ?? 'none'}`,
    `trt=${host.tensorrtVersion ?? 'none'}`,
    `ortlibs=${host.ortProviderLibs.cuda ? 'cuda' : ''}${host.ortProviderLibs.tensorrt ? '+trt' : ''}`,
    `backends=onnx[${opts.providers.join(',')}],${tfjsKind}`,
  ].join(';');
  const cachePath = path.join(stateDir, CACHE_FILE);
  const choices: Record<string, ModelChoice> = {};

  let onnx: Promise<InferenceRuntime> | null = null;
  let tfjs: Promise<InferenceRuntime> | null = null;
  const runtimeFor = (family: Family): Promise<InferenceRuntime> => {
    if (family === 'onnx') return (onnx ??= createOnnxRuntime({ providers: opts.providers, stateDir, logger }));
    const pref = opts.backend === 'tfjs-wasm' || opts.backend === 'tfjs-node-gpu' ? opts.backend : 'auto';
    return (tfjs ??= createTfjsRuntime(pref, logger));
  };
  const liveRuntimes: InferenceRuntime[] = [];
  const precision = opts.precision ?? 'fp32';
  const budget = opts.accuracyBudget ?? DEFAULT_ACCURACY_BUDGET;
  const loadOn = async (family: Family, name: string, dir: string | undefined, variant: ModelVariant = 'fp32'): Promise<LoadedModel> => {
    const model = await resolveModel(name, dir, FORMAT_OF[family], variant);
    const runtime = await runtimeFor(family);
    if (!liveRuntimes.includes(runtime)) liveRuntimes.push(runtime);
    return runtime.load(model);
  };

  async function readCache(): Promise<CacheFile> {
    try {
      const parsed = CacheFileSchema.safeParse(JSON.parse(await readFile(cachePath, 'utf8')));
      if (parsed.success) return parsed.data;
    } catch {
      /* absent or unreadable: re-time */
    }
    return { v: 1, models: {} };
  }
  async function writeCache(name: string, entry: CacheEntry): Promise<void> {
    try {
      const cache = await readCache();
      cache.models[name] = entry;
      await writeFileAtomic(cachePath, `${JSON.stringify(cache, null, 2)}\n`);
    } catch (err) {
      logger.warn({ model: name, reason: (err as Error).message }, 'could not persist the backend choice; it will be re-timed at next start');
    }
  }

  /**
   * The ONNX variants worth timing for `name` under the precision setting; the others with why not.
   * A compressed variant stands in only for the float32 model it was converted from: one converted
   * from another version (an updated or re-converted float32 beside the old variants) is stale, and
   * its parity says nothing about this float32. Stale variants are left out and logged; with none
   * left, float32 serves (a pinned precision included).
   */
  async function onnxVariants(name: string, dir: string | undefined): Promise<{ variants: ModelVariant[]; rejected: Record<string, string>; versions: string }> {
    const available = await availableVariants(name, 'onnx', dir);
    const fp32Version = available.includes('fp32') ? (await loadManifest(name, dir, 'onnx').catch(() => null))?.version : undefined;
    const rejected: Record<string, string> = {};
    const usable: ModelVariant[] = [];
    const versions: string[] = [];
    for (const v of available) {
      if (v === 'fp32' || (precision !== 'auto' && precision !== v)) continue;
      const manifest = await loadManifest(name, dir, 'onnx', v).catch((err: Error) => err);
      if (manifest instanceof Error) {
        rejected[v] = manifest.message;
        continue;
      }
      const from = manifest.convertedFrom?.version;
      if (from !== fp32Version) {
        rejected[v] = `stale: converted from ${from ?? 'an unknown version'}, float32 is ${fp32Version ?? 'absent'}`;
        logger.warn({ model: name, variant: v, convertedFrom: from, fp32: fp32Version }, 'compressed variant was converted from another float32 model; ignored');
        continue;
      }
      versions.push(manifest.version);
      const why = precision === 'auto' ? outsideBudget(manifest.convertedFrom?.parity, budget) : null;
      if (why) rejected[v] = why;
      else usable.push(v);
    }
    // float32 is timed beside the usable variants (auto), or serves when the pinned one is not usable.
    const fp32: ModelVariant[] = available.includes('fp32') && (precision === 'auto' || precision === 'fp32' || !usable.includes(precision)) ? ['fp32'] : [];
    return { variants: [...fp32, ...usable], rejected, versions: versions.join(',') };
  }

  /** The variant a pinned ONNX backend serves: the pinned precision when usable, else float32. */
  async function pinnedVariant(name: string, dir: string | undefined): Promise<ModelVariant> {
    if (precision === 'auto') return 'fp32';
    const { variants } = await onnxVariants(name, dir);
    return variants.includes(precision) ? precision : 'fp32';
  }

  const label = (backend: string, variant: ModelVariant): string => (variant === 'fp32' ? backend : `${backend}/${variant}`);

  async function loadAuto(name: string, dir: string | undefined, families: Family[], versions: string): Promise<LoadedModel> {
    const onnxChoice = families.includes('onnx') ? await onnxVariants(name, dir) : { variants: [] as ModelVariant[], rejected: {}, versions: '' };
    const key = `${versions}|${onnxChoice.versions}|precision=${precision}|budget=${JSON.stringify(budget)}|${hostKey}`;
    const cached = (await readCache()).models[name];
    if (cached && cached.key === key && families.includes(cached.family)) {
      try {
        const model = await loadOn(cached.family, name, dir, cached.variant);
        choices[name] = { backend: model.backend, variant: cached.variant, msPerRun: cached.msPerRun, pinned: false, timings: cached.timings, rejected: cached.rejected };
        logger.info({ model: name, backend: model.backend, variant: cached.variant, msPerRun: cached.msPerRun, timings: cached.timings, rejected: cached.rejected, cached: true }, 'vision backend chosen');
        return model;
      } catch (err) {
        logger.warn({ model: name, backend: cached.backend, reason: (err as Error).message }, 'cached backend choice failed to load; re-timing');
      }
    }
    // Input contract only (files are verified when each backend loads its own format).
    const manifest = await loadManifest(name, dir, FORMAT_OF[families[0]]);
    const shape = manifest.input.shape;
    // Load every candidate, warm each, then time them interleaved (run by run) so background
    // load on the box hits all candidates alike.
    const candidates: Array<{ family: Family; variant: ModelVariant; model: LoadedModel; times: number[] }> = [];
    let lastError: unknown = null;
    const input = fixedInput(shape, manifest.input.range);
    const pairs = families.flatMap((family) => (family === 'onnx' ? onnxChoice.variants : (['fp32'] as ModelVariant[])).map((variant) => ({ family, variant })));
    if (pairs.length === 1) {
      // Nothing to choose between (say an update that ships one format): no timing, nothing cached.
      const [{ family, variant }] = pairs;
      const model = await loadOn(family, name, dir, variant);
      choices[name] = { backend: model.backend, variant, msPerRun: null, pinned: false, rejected: onnxChoice.rejected };
      logger.info({ model: name, backend: model.backend, variant, rejected: onnxChoice.rejected, only: true }, 'vision backend chosen');
      return model;
    }
    for (const { family, variant } of pairs) {
      try {
        const model = await loadOn(family, name, dir, variant);
        candidates.push({ family, variant, model, times: [] });
      } catch (err) {
        lastError = err;
        logger.error({ model: name, family, variant, err: (err as Error).message }, 'backend cannot load this model; skipped');
      }
    }
    const alive = async (fn: (c: (typeof candidates)[number]) => Promise<void>): Promise<void> => {
      for (const c of [...candidates]) {
        try {
          await fn(c);
        } catch (err) {
          lastError = err;
          logger.error({ model: name, backend: c.model.backend, err: (err as Error).message }, 'model failed its timing runs; skipped');
          c.model.dispose();
          candidates.splice(candidates.indexOf(c), 1);
        }
      }
    };
    for (let i = 0; i < warmRuns; i++) await alive(async (c) => void (await c.model.run(input, shape)));
    for (let i = 0; i < timedRuns; i++) {
      await alive(async (c) => {
        const t0 = performance.now();
        await c.model.run(input, shape);
        c.times.push(performance.now() - t0);
      });
    }
    const timings: Record<string, number> = {};
    let best: { family: Family; variant: ModelVariant; model: LoadedModel; ms: number } | null = null;
    for (const c of candidates) {
      const ms = median(c.times);
      timings[label(c.model.backend, c.variant)] = Math.round(ms * 1000) / 1000;
      if (!best || ms < best.ms) best = { family: c.family, variant: c.variant, model: c.model, ms };
    }
    for (const c of candidates) if (c.model !== best?.model) c.model.dispose();
    if (!best) throw lastError;
    const msPerRun = timings[label(best.model.backend, best.variant)];
    const rejected = onnxChoice.rejected;
    choices[name] = { backend: best.model.backend, variant: best.variant, msPerRun, pinned: false, timings, rejected };
    logger.info({ model: name, backend: best.model.backend, variant: best.variant, msPerRun, timings, rejected, budget, cached: false }, 'vision backend chosen');
    await writeCache(name, { key, family: best.family, variant: best.variant, rejected, backend: best.model.backend, msPerRun, timings, decidedAt: new Date().toISOString() });
    return best.model;
  }

  let queue: Promise<unknown> = Promise.resolve();
  async function loadOne(name: string, dir: string | undefined): Promise<LoadedModel> {
    const formats = await availableFormats(name, dir);
    const families = (['onnx', 'tfjs'] as Family[]).filter((f) => formats.includes(FORMAT_OF[f]));
    if (!families.length) {
      // Let the registry produce its usual "cannot read manifest" error naming the model.
      await resolveModel(name, dir);
    }
    const versions = (await Promise.all(families.map(async (f) => (await resolveManifestVersion(name, dir, f)) ?? '?'))).join(',');
    if (pinnedFamily) {
      if (families.includes(pinnedFamily)) {
        try {
          const variant: ModelVariant = pinnedFamily === 'onnx' ? await pinnedVariant(name, dir) : 'fp32';
          const model = await loadOn(pinnedFamily, name, dir, variant);
          choices[name] = { backend: model.backend, variant, msPerRun: null, pinned: true };
          logger.info({ model: name, backend: model.backend, variant, pinned: opts.backend }, 'vision backend chosen');
          return model;
        } catch (err) {
          const others = families.filter((f) => f !== pinnedFamily);
          if (!others.length) throw err;
          logger.error({ model: name, pinned: opts.backend, err: (err as Error).message }, 'pinned backend cannot load this model; choosing automatically');
          return loadAuto(name, dir, others, versions);
        }
      }
      logger.warn({ model: name, pinned: opts.backend, available: formats }, 'pinned backend has no file for this model; choosing automatically');
    }
    return loadAuto(name, dir, families, versions);
  }
  async function resolveManifestVersion(name: string, dir: string | undefined, family: Family): Promise<string | null> {
    try {
      return (await loadManifest(name, dir, FORMAT_OF[family])).version;
    } catch {
      return null;
    }
  }

  const loader: ModelLoader = {
    load(name: string, manifestDir?: string): Promise<LoadedModel> {
      const result = queue.then(() => loadOne(name, manifestDir ?? opts.manifestDir));
      queue = result.catch(() => {});
      return result;
    },
    async loadResolved(model: ResolvedModel): Promise<LoadedModel> {
      const runtime = await runtimeFor(model.manifest.format === 'onnx' ? 'onnx' : 'tfjs');
      if (!liveRuntimes.includes(runtime)) liveRuntimes.push(runtime);
      return runtime.load(model);
    },
    choices: () => structuredClone(choices),
    liveTensors: () => liveRuntimes.reduce((n, r) => n + r.liveTensors(), 0),
    asRuntime(): InferenceRuntime {
      return {
        get backend() {
          return [...new Set(Object.values(choices).map((c) => c.backend))].join('+') || opts.backend;
        },
        load: (model) => loader.loadResolved(model),
        liveTensors: () => loader.liveTensors(),
      };
    },
  };
  return loader;
}
