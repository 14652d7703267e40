/**
 * The automatic backend choice: every backend that has the model is timed, the fastest serves,
 * the choice survives a restart (no re-timing) and is re-made on another host or model version;
 * a pin is honoured, and a pin the model cannot follow falls back to the automatic choice.
 * No wall-clock assertions: only which path was taken.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelLoader } from '../../device/vision/runtime/select.ts';
import { resolveModel } from '../../models/registry.ts';
import type { HostInfo } from '../../device/vision/runtime/host.ts';
import { repoRoot } from '../helpers/daemon.ts';

const host: HostInfo = { cpuModel: 'Test CPU', cores: 2, gpu: null, tensorrtVersion: null, ortProviderLibs: { cuda: false, tensorrt: false } };
function recorder() {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}
const chosen = (lines: ReturnType<typeof recorder>['lines']) => lines.filter((l) => l.msg === 'vision backend chosen');
const fast = { warmRuns: 1, timedRuns: 3 };

describe('automatic backend choice per model', () => {
  it('times onnx and tfjs-wasm, keeps the fastest, and reuses the choice after a restart', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'sel-'));
    const first = recorder();
    const loader = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: first.logger, host, ...fast });
    const model = await loader.load('iris');
    const [choice] = chosen(first.lines);
    const timings = choice.obj.timings as Record<string, number>;
    expect(Object.keys(timings).sort()).toEqual(['onnx-cpu', 'tfjs-wasm']);
    const fastest = Object.entries(timings).sort((a, b) => a[1] - b[1])[0][0];
    expect(model.backend).toBe(fastest);
    expect(loader.choices()).toEqual({ iris: { backend: fastest, variant: 'fp32', msPerRun: timings[fastest], pinned: false, timings, rejected: choice.obj.rejected } });
    expect(choice.obj.cached).toBe(false);
    model.dispose();

    const again = recorder();
    const restarted = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: again.logger, host, ...fast });
    const reloaded = await restarted.load('iris');
    expect(chosen(again.lines)[0].obj).toMatchObject({ backend: fastest, cached: true });
    expect(reloaded.backend).toBe(fastest);
    reloaded.dispose();

    // Another host (say the same disk in a mirror with a GPU) must re-time.
    const other = recorder();
    const moved = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: other.logger, host: { ...host, cpuModel: 'Other CPU' }, ...fast });
    (await moved.load('iris')).dispose();
    expect(chosen(other.lines)[0].obj.cached).toBe(false);
  });

  it('a damaged choice file (a field of the wrong type) is re-timed, not trusted', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'sel-'));
    (await (await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: recorder().logger, host, ...fast })).load('iris')).dispose();
    const file = path.join(stateDir, 'vision-backends.json');
    const cache = JSON.parse(await readFile(file, 'utf8'));
    cache.models.iris.msPerRun = 'fast';
    await writeFile(file, JSON.stringify(cache));
    const log = recorder();
    (await (await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: log.logger, host, ...fast })).load('iris')).dispose();
    expect(chosen(log.lines)[0].obj.cached).toBe(false);
    expect(typeof JSON.parse(await readFile(file, 'utf8')).models.iris.msPerRun).toBe('number');
  });

  it('re-times when the model version changes', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'sel-'));
    const root = await mkdtemp(path.join(tmpdir(), 'models-'));
    await mkdir(path.join(root, 'manifests'));
    await mkdir(path.join(root, 'onnx'));
    for (const f of await readdir(path.join(repoRoot, 'models', 'manifests'))) await copyFile(path.join(repoRoot, 'models', 'manifests', f), path.join(root, 'manifests', f));
    await copyFile(path.join(repoRoot, 'models', 'onnx', 'iris.onnx'), path.join(root, 'onnx', 'iris.onnx'));
    const manifestDir = path.join(root, 'manifests');
    (await (await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: recorder().logger, host, manifestDir, ...fast })).load('iris')).dispose();
    const file = path.join(manifestDir, 'iris.onnx.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('+onnx13', '+onnx13-r2'));
    const log = recorder();
    (await (await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger: log.logger, host, manifestDir, ...fast })).load('iris')).dispose();
    expect(chosen(log.lines)[0].obj.cached).toBe(false);
  });

  it('honours a pinned backend without timing', async () => {
    const log = recorder();
    const loader = await createModelLoader({ backend: 'tfjs-wasm', providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'sel-')), logger: log.logger, host, ...fast });
    const model = await loader.load('face-mesh');
    expect(model.backend).toBe('tfjs-wasm');
    expect(loader.choices()['face-mesh']).toEqual({ backend: 'tfjs-wasm', variant: 'fp32', msPerRun: null, pinned: true });
    model.dispose();
    const onnx = await createModelLoader({ backend: 'onnx', providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'sel-')), logger: log.logger, host, ...fast });
    const m2 = await onnx.load('face-mesh');
    expect(m2.backend).toBe('onnx-cpu');
    expect(onnx.choices()['face-mesh'].pinned).toBe(true);
    m2.dispose();
  });

  it('a pin the model has no file for falls back to the automatic choice with a warning', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'models-'));
    await mkdir(path.join(root, 'manifests'));
    await copyFile(path.join(repoRoot, 'models', 'manifests', 'iris.json'), path.join(root, 'manifests', 'iris.json'));
    const log = recorder();
    const loader = await createModelLoader({ backend: 'onnx', providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'sel-')), logger: log.logger, host, manifestDir: path.join(root, 'manifests'), ...fast });
    const model = await loader.load('iris');
    expect(model.backend).toBe('tfjs-wasm');
    expect(loader.choices().iris.pinned).toBe(false);
    expect(log.lines.some((l) => l.level === 'warn' && /pinned backend has no file/.test(l.msg))).toBe(true);
    model.dispose();
  });

  it('a compressed variant stands in only for the float32 it was converted from: stale ones are ignored, float32 serves', async () => {
    // The face mesh's ONNX float32 and its fp16/int8 variants, alone in a registry directory.
    const root = await mkdtemp(path.join(tmpdir(), 'models-'));
    await mkdir(path.join(root, 'manifests'));
    await mkdir(path.join(root, 'onnx'));
    for (const f of ['face-mesh.onnx.json', 'face-mesh.onnx.fp16.json', 'face-mesh.onnx.int8.json']) await copyFile(path.join(repoRoot, 'models', 'manifests', f), path.join(root, 'manifests', f));
    for (const f of ['face-mesh.onnx', 'face-mesh.fp16.onnx', 'face-mesh.int8.onnx']) await copyFile(path.join(repoRoot, 'models', 'onnx', f), path.join(root, 'onnx', f));
    const manifestDir = path.join(root, 'manifests');
    const open = async (precision: 'auto' | 'fp16', backend: 'auto' | 'onnx' = 'auto') => {
      const log = recorder();
      const loader = await createModelLoader({ backend, providers: ['cpu'], precision, stateDir: await mkdtemp(path.join(tmpdir(), 'sel-')), logger: log.logger, host, manifestDir, ...fast });
      (await loader.load('face-mesh')).dispose();
      return { choice: loader.choices()['face-mesh'], log };
    };
    // As converted, the fp16 variant (within the accuracy budget) is timed beside float32.
    const fresh = (await open('auto')).choice;
    expect(Object.keys(fresh.timings ?? {}).sort()).toEqual(['onnx-cpu', 'onnx-cpu/fp16']);

    // The float32 is replaced (a new version: an update, a re-conversion); the variants are the old model's.
    const file = path.join(manifestDir, 'face-mesh.onnx.json');
    const old = JSON.parse(await readFile(file, 'utf8')) as { version: string };
    await writeFile(file, JSON.stringify({ ...old, version: `${old.version}-r2` }));
    const { choice, log } = await open('auto');
    expect(choice).toMatchObject({ backend: 'onnx-cpu', variant: 'fp32' });
    expect(choice.rejected?.fp16).toBe(`stale: converted from ${old.version}, float32 is ${old.version}-r2`);
    expect(choice.rejected?.int8).toMatch(/^stale: /);
    expect(log.lines.filter((l) => l.level === 'warn' && /converted from another float32/.test(l.msg)).map((l) => l.obj.variant)).toEqual(['fp16', 'int8']);
    // A pinned precision whose variant is stale serves float32 too.
    expect((await open('fp16', 'onnx')).choice).toMatchObject({ variant: 'fp32', pinned: true });
  });

  it('as an InferenceRuntime, loads a staged model on the runtime for its format', async () => {
    const loader = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'sel-')), logger: recorder().logger, host, ...fast });
    const runtime = loader.asRuntime();
    const onnx = await runtime.load(await resolveModel('iris', undefined, 'onnx'));
    const tfjs = await runtime.load(await resolveModel('iris'));
    expect([onnx.backend, tfjs.backend]).toEqual(['onnx-cpu', 'tfjs-wasm']);
    expect(runtime.liveTensors()).toBeGreaterThan(0);
    onnx.dispose();
    tfjs.dispose();
  });
});
