/**
 * Compressed variants (models/converter/compress.ts, variants.ts): the FP16 and INT8 files in the
 * repo load and decode through the daemon's own parts, their recorded parity holds when measured
 * again here, and the autotune (device/vision/runtime/select.ts) times only the variants within the
 * accuracy budget, says what it chose and why it left the others out, and caches the choice.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_VARIANTS } from '../../models/decode.ts';
import { toHalf } from '../../models/converter/compress.ts';
import { evaluationFiles, loadPhotoSet, parityOf, SHIPPED_CNNS, type PhotoSet } from '../../models/converter/variants.ts';
import { availableVariants, loadManifest, resolveModel } from '../../models/registry.ts';
import type { HostInfo } from '../../device/vision/runtime/host.ts';
import { createOnnxRuntime } from '../../device/vision/runtime/onnx-runtime.ts';
import type { InferenceRuntime } from '../../device/vision/runtime/runtime.ts';
import { createModelLoader, DEFAULT_ACCURACY_BUDGET, outsideBudget } from '../../device/vision/runtime/select.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const cpuHost: HostInfo = { cpuModel: 'Test CPU', cores: 2, gpu: null, tensorrtVersion: null, ortProviderLibs: { cuda: false, tensorrt: false } };
function recorder() {
  const lines: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const at = (obj: object, msg?: string) => lines.push({ msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { lines, logger: { info: at, warn: at, error: at } };
}

describe('float16 encoding', () => {
  it('rounds to nearest even, keeps subnormals, saturates to infinity', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(1 / 3)).toBe(0x3555);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(toHalf(2 ** -26)).toBe(0x0000);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
  });
});

describe('the shipped variants', () => {
  let runtime: InferenceRuntime;
  let photos: PhotoSet;
  beforeAll(async () => {
    runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'variants-st-')), logger: quiet, host: cpuHost });
    photos = await loadPhotoSet(runtime, evaluationFiles());
  }, 120_000);

  it('every shipped CNN has an FP16 and an INT8 variant with its parity recorded, smaller than float32', async () => {
    for (const name of SHIPPED_CNNS) {
      expect(await availableVariants(name, 'onnx')).toEqual([...MODEL_VARIANTS]);
      const fp32 = await loadManifest(name, undefined, 'onnx');
      for (const v of ['fp16', 'int8'] as const) {
        const m = await loadManifest(name, undefined, 'onnx', v);
        expect(m.convertedFrom).toMatchObject({ format: 'onnx', version: fp32.version, variant: v });
        expect(m.convertedFrom?.parity?.samples).toBeGreaterThan(0);
        expect(m.files[0].size!).toBeLessThan(fp32.files[0].size!);
        const loaded = await runtime.load(await resolveModel(name, undefined, 'onnx', v));
        expect(loaded.version).toBe(`${fp32.version}+${v}`);
        loaded.dispose();
      }
    }
  });

  it('measured again on the held-out photos, each variant of the mesh and detector matches its recorded parity', async () => {
    expect(photos.faces.length).toBeGreaterThanOrEqual(10);
    for (const name of ['face-mesh', 'face-detector']) {
      const reference = await runtime.load(await resolveModel(name, undefined, 'onnx'));
      for (const v of ['fp16', 'int8'] as const) {
        const resolved = await resolveModel(name, undefined, 'onnx', v);
        const variant = await runtime.load(resolved);
        const now = await parityOf(reference, variant, photos.images, photos.faces);
        const recorded = resolved.manifest.convertedFrom!.parity!;
        console.log(`${name} ${v}: ${now.metric} mean ${now.mean.toFixed(4)} (recorded ${recorded.mean.toFixed(4)}), worst ${now.worst.toFixed(4)}, ${now.samples} samples`);
        expect(now.metric).toBe(recorded.metric);
        expect(now.samples).toBe(recorded.samples);
        expect(Math.abs(now.mean - recorded.mean)).toBeLessThan(1e-3 + 0.05 * recorded.mean);
        variant.dispose();
      }
      reference.dispose();
    }
    // FP16 is within the budget by a wide margin (mean extra landmark error well under 0.5 px).
    const fp16 = (await loadManifest('face-mesh', undefined, 'onnx', 'fp16')).convertedFrom!.parity!;
    expect(outsideBudget(fp16, DEFAULT_ACCURACY_BUDGET)).toBeNull();
    expect(fp16.mean).toBeLessThan(0.1);
  }, 180_000);
});

describe('the autotune picks among the variants within the accuracy budget', () => {
  it('times fp32, the variants within budget and TF.js; says what it chose, what it left out and why; caches it', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'variants-auto-'));
    const log = recorder();
    const fast = { warmRuns: 2, timedRuns: 5 };
    const loader = await createModelLoader({ backend: 'auto', providers: ['cpu'], precision: 'auto', stateDir, logger: log.logger, host: cpuHost, ...fast });
    const model = await loader.load('face-mesh');
    const choice = loader.choices()['face-mesh'];
    const int8 = (await loadManifest('face-mesh', undefined, 'onnx', 'int8')).convertedFrom!.parity!;
    const int8Out = outsideBudget(int8, DEFAULT_ACCURACY_BUDGET);
    // Every candidate within budget was timed; the ones outside were never loaded.
    expect(Object.keys(choice.timings!).sort()).toEqual(['onnx-cpu', 'onnx-cpu/fp16', ...(int8Out ? [] : ['onnx-cpu/int8']), 'tfjs-wasm'].sort());
    expect(choice.rejected).toEqual(int8Out ? { int8: int8Out } : {});
    expect(choice.msPerRun).toBe(Math.min(...Object.values(choice.timings!)));
    expect(model.version).toEqual(choice.variant === 'fp32' ? expect.stringMatching(/^facemesh-468/) : expect.stringMatching(new RegExp(`\\+${choice.variant}$`)));
    const said = log.lines.find((l) => l.msg === 'vision backend chosen');
    expect(said?.obj).toMatchObject({ model: 'face-mesh', variant: choice.variant, timings: choice.timings, cached: false, budget: DEFAULT_ACCURACY_BUDGET });
    console.log(`autotune on this host: face-mesh → ${choice.backend} ${choice.variant} (${JSON.stringify(choice.timings)}; left out ${JSON.stringify(choice.rejected)})`);
    model.dispose();

    // Cached: a restart loads the same variant without timing, and says so.
    const cache = JSON.parse(await readFile(path.join(stateDir, 'vision-backends.json'), 'utf8'));
    expect(cache.models['face-mesh']).toMatchObject({ variant: choice.variant, backend: choice.backend });
    const again = recorder();
    const second = await createModelLoader({ backend: 'auto', providers: ['cpu'], precision: 'auto', stateDir, logger: again.logger, host: cpuHost, ...fast });
    (await second.load('face-mesh')).dispose();
    expect(second.choices()['face-mesh']).toMatchObject({ variant: choice.variant, backend: choice.backend, timings: choice.timings });
    expect(again.lines.find((l) => l.msg === 'vision backend chosen')?.obj).toMatchObject({ cached: true, variant: choice.variant });
  }, 120_000);

  it('a tighter budget leaves the FP16 variant out too, naming the measured error', async () => {
    const log = recorder();
    const loader = await createModelLoader({
      backend: 'auto',
      providers: ['cpu'],
      precision: 'auto',
      accuracyBudget: { ...DEFAULT_ACCURACY_BUDGET, landmarkPx: 0.001 },
      stateDir: await mkdtemp(path.join(tmpdir(), 'variants-tight-')),
      logger: log.logger,
      host: cpuHost,
      warmRuns: 1,
      timedRuns: 2,
    });
    (await loader.load('face-mesh')).dispose();
    const choice = loader.choices()['face-mesh'];
    expect(choice.variant).toBe('fp32');
    expect(choice.rejected?.fp16).toMatch(/^mean extra landmark error 0\.\d+ px > 0\.001 px$/);
    expect(Object.keys(choice.timings!).sort()).toEqual(['onnx-cpu', 'tfjs-wasm']);
  }, 60_000);

  it('a pinned precision serves that variant untimed; a backend pinned without one serves float32', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'variants-pin-'));
    const pinned = await createModelLoader({ backend: 'onnx', providers: ['cpu'], precision: 'int8', stateDir, logger: quiet, host: cpuHost });
    const m = await pinned.load('iris');
    expect(m.version).toMatch(/\+int8$/);
    expect(pinned.choices().iris).toMatchObject({ variant: 'int8', pinned: true, msPerRun: null });
    m.dispose();
    const plain = await createModelLoader({ backend: 'onnx', providers: ['cpu'], precision: 'auto', stateDir, logger: quiet, host: cpuHost });
    const f = await plain.load('iris');
    expect(plain.choices().iris).toMatchObject({ variant: 'fp32', pinned: true });
    f.dispose();
  });
});
