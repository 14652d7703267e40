/**
 * Bad model files are refused with a MirrorError that names the model, at the level that can
 * tell: the registry (size and sha256 against the manifest) and the runtimes (a file that hashes
 * right but is not a loadable model, an input shape other than the manifest's). The loader keeps
 * serving from a good format when one format's file is bad, and degrades past missing GPU
 * providers with a log line.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { resolveModel, type ModelManifest } from '../../models/registry.ts';
import { createOnnxRuntime, tensorrtCacheDir } from '../../device/vision/runtime/onnx-runtime.ts';
import { createTfjsRuntime } from '../../device/vision/runtime/tfjs-runtime.ts';
import { createModelLoader } from '../../device/vision/runtime/select.ts';
import type { HostInfo } from '../../device/vision/runtime/host.ts';
import { repoRoot } from '../helpers/daemon.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
function recorder() {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}
const cpuHost: HostInfo = { cpuModel: 'Test CPU', cores: 2, gpu: null, tensorrtVersion: null, ortProviderLibs: { cuda: false, tensorrt: false } };

const realManifests = path.join(repoRoot, 'models', 'manifests');
const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A private copy of the models tree (manifests + onnx files) that a test may damage. */
async function modelsCopy(): Promise<{ manifests: string; onnx: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'models-'));
  const manifests = path.join(root, 'manifests');
  const onnx = path.join(root, 'onnx');
  await mkdir(manifests);
  await mkdir(onnx);
  for (const f of await readdir(realManifests)) await copyFile(path.join(realManifests, f), path.join(manifests, f));
  for (const f of await readdir(path.join(repoRoot, 'models', 'onnx'))) await copyFile(path.join(repoRoot, 'models', 'onnx', f), path.join(onnx, f));
  return { manifests, onnx };
}
async function editManifest(dir: string, file: string, edit: (m: ModelManifest) => void): Promise<void> {
  const p = path.join(dir, file);
  const m = JSON.parse(await readFile(p, 'utf8')) as ModelManifest;
  edit(m);
  await writeFile(p, JSON.stringify(m));
}
async function rejection(p: Promise<unknown>): Promise<MirrorError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MirrorError);
  return err as MirrorError;
}

describe('bad model files are refused with an error naming the model', () => {
  it('a truncated ONNX file is refused by the registry (size) before any runtime sees it', async () => {
    const { manifests, onnx } = await modelsCopy();
    const file = path.join(onnx, 'face-mesh.onnx');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, 1000));
    const err = await rejection(resolveModel('face-mesh', manifests, 'onnx'));
    expect(err.code).toBe('MIRROR_ERR_MODEL_HASH');
    expect(err.message).toMatch(/^model face-mesh: onnx\/face-mesh\.onnx is truncated: 1000 bytes/);
  });

  it('a swapped file (wrong sha256, same size) is refused by the registry', async () => {
    const { manifests, onnx } = await modelsCopy();
    const file = path.join(onnx, 'face-detector.onnx');
    const bytes = Buffer.from(await readFile(file));
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(file, bytes);
    const err = await rejection(resolveModel('face-detector', manifests, 'onnx'));
    expect(err.code).toBe('MIRROR_ERR_MODEL_HASH');
    expect(err.message).toContain('model face-detector: onnx/face-detector.onnx has sha256');
  });

  it('a manifest whose sha256 does not match the shipped TF.js weights is refused', async () => {
    const { manifests } = await modelsCopy();
    await editManifest(manifests, 'face-mesh.json', (m) => (m.files[1].sha256 = '0'.repeat(64)));
    const err = await rejection(resolveModel('face-mesh', manifests));
    expect(err.code).toBe('MIRROR_ERR_MODEL_HASH');
    expect(err.message).toMatch(/^model face-mesh: models\/facemesh\.bin has sha256 [0-9a-f]{64}, manifest says 0{64}$/);
  });

  it('a truncated ONNX file that hashes right (damaged before it was hashed) is refused by ONNX Runtime', async () => {
    const { manifests, onnx } = await modelsCopy();
    const file = path.join(onnx, 'face-mesh.onnx');
    const cut = (await readFile(file)).subarray(0, 200_000);
    await writeFile(file, cut);
    await editManifest(manifests, 'face-mesh.onnx.json', (m) => (m.files[0] = { path: 'onnx/face-mesh.onnx', sha256: sha(cut), size: cut.length }));
    const runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger: quiet, host: cpuHost });
    const err = await rejection(runtime.load(await resolveModel('face-mesh', manifests, 'onnx')));
    expect(err.code).toBe('MIRROR_ERR_MODEL_FILE');
    expect(err.message).toMatch(/^model face-mesh: onnx\/face-mesh\.onnx is not a loadable ONNX model/);
  });

  it('truncated TF.js weights that got past the registry are refused by the TF.js runtime', async () => {
    const resolved = await resolveModel('face-mesh');
    resolved.files.set('facemesh.bin', resolved.files.get('facemesh.bin')!.subarray(0, 100_000));
    const runtime = await createTfjsRuntime('tfjs-wasm', quiet);
    const err = await rejection(runtime.load(resolved));
    expect(err.code).toBe('MIRROR_ERR_MODEL_FILE');
    expect(err.message).toMatch(/^model face-mesh: graph does not load: /);
  });

  it('an ONNX model whose input shape differs from its manifest is refused at load', async () => {
    const { manifests } = await modelsCopy();
    await editManifest(manifests, 'face-mesh.onnx.json', (m) => (m.input.shape = [1, 256, 256, 3]));
    const runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger: quiet, host: cpuHost });
    const err = await rejection(runtime.load(await resolveModel('face-mesh', manifests, 'onnx')));
    expect(err.code).toBe('MIRROR_ERR_MODEL_CONTRACT');
    expect(err.message).toBe('model face-mesh: input shape [1,192,192,3] does not match manifest [1,256,256,3]');
  });

  it('a TF.js model whose input shape differs from its manifest is refused at load', async () => {
    const { manifests } = await modelsCopy();
    // The mesh's decoding does not depend on its input size, so the manifest alone is consistent.
    await editManifest(manifests, 'face-mesh.json', (m) => (m.input.shape = [1, 128, 128, 3]));
    const runtime = await createTfjsRuntime('tfjs-wasm', quiet);
    const err = await rejection(runtime.load(await resolveModel('face-mesh', manifests)));
    expect(err.code).toBe('MIRROR_ERR_MODEL_CONTRACT');
    expect(err.message).toContain('model face-mesh: input shape');
  });

  it('an input of the wrong shape at run time is refused naming the model', async () => {
    const runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger: quiet, host: cpuHost });
    const model = await runtime.load(await resolveModel('iris', undefined, 'onnx'));
    const err = await rejection(model.run(new Float32Array(32 * 32 * 3), [1, 32, 32, 3]));
    expect(err.code).toBe('MIRROR_ERR_MODEL_CONTRACT');
    expect(err.message).toMatch(/^model iris: input \[1,32,32,3\]/);
    model.dispose();
  });

  it('a manifest file describing another model or format is refused', async () => {
    const { manifests } = await modelsCopy();
    await editManifest(manifests, 'iris.onnx.json', (m) => (m.format = 'tfjs-graph'));
    const err = await rejection(resolveModel('iris', manifests, 'onnx'));
    expect(err.code).toBe('MIRROR_ERR_MODEL_MANIFEST');
    expect(err.message).toContain('model iris: manifest');
  });
});

describe('the loader keeps the mirror running on a bad file or a missing GPU', () => {
  it('serves face-mesh from TF.js when its ONNX file is damaged, logging the error', async () => {
    const { manifests, onnx } = await modelsCopy();
    await writeFile(path.join(onnx, 'face-mesh.onnx'), Buffer.from('not a model'));
    const { lines, logger } = recorder();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'st-'));
    const loader = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir, logger, manifestDir: manifests, host: cpuHost, warmRuns: 1, timedRuns: 2 });
    const model = await loader.load('face-mesh');
    expect(model.backend).toBe('tfjs-wasm');
    const logged = lines.find((l) => l.level === 'error' && l.obj.model === 'face-mesh');
    expect(String(logged?.obj.err)).toContain('model face-mesh: onnx/face-mesh.onnx is truncated');
    model.dispose();
  });

  it('rejects with the model named when no format of it loads', async () => {
    const { manifests, onnx } = await modelsCopy();
    await writeFile(path.join(onnx, 'iris.onnx'), Buffer.from('x'));
    await editManifest(manifests, 'iris.json', (m) => (m.files[0].sha256 = 'f'.repeat(64)));
    const loader = await createModelLoader({ backend: 'auto', providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger: quiet, manifestDir: manifests, host: cpuHost });
    const err = await rejection(loader.load('iris'));
    expect(err.message).toMatch(/^model iris: /);
  });

  it('a configured CUDA provider on a CPU-only host runs on the CPU and says so once, as information', async () => {
    const { lines, logger } = recorder();
    const runtime = await createOnnxRuntime({ providers: ['cuda', 'cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger, host: cpuHost });
    const model = await runtime.load(await resolveModel('iris', undefined, 'onnx'));
    expect(model.backend).toBe('onnx-cpu');
    // A host without a GPU is the normal case, not a fault: no warning, one info line naming what was skipped.
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.some((l) => l.level === 'info' && (l.obj.skipped as string[] | undefined)?.includes('cuda') && /CPU/.test(l.msg))).toBe(true);
    model.dispose();
  });

  it('a GPU host whose CUDA provider library is missing degrades to CPU with a warning', async () => {
    const { lines, logger } = recorder();
    const gpuNoLibs: HostInfo = { ...cpuHost, gpu: 'NVIDIA Jetson Orin NX' };
    const runtime = await createOnnxRuntime({ providers: ['cuda', 'cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger, host: gpuNoLibs });
    const model = await runtime.load(await resolveModel('iris', undefined, 'onnx'));
    expect(model.backend).toBe('onnx-cpu');
    expect(lines.some((l) => l.level === 'warn' && l.obj.provider === 'cuda' && /degrading/.test(l.msg))).toBe(true);
    model.dispose();
  });

  it('a CUDA provider that fails to start (library claimed, no GPU behind it) degrades per model, not fatally', async () => {
    const { lines, logger } = recorder();
    const claimsGpu: HostInfo = { ...cpuHost, gpu: 'Imaginary GPU', ortProviderLibs: { cuda: true, tensorrt: false } };
    const runtime = await createOnnxRuntime({ providers: ['cuda', 'cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'st-')), logger, host: claimsGpu });
    const model = await runtime.load(await resolveModel('iris', undefined, 'onnx'));
    expect(model.backend).toBe('onnx-cpu');
    expect(lines.some((l) => l.level === 'warn' && l.obj.provider === 'cuda' && l.obj.model === 'iris')).toBe(true);
    model.dispose();
  });
});

describe('TensorRT engine cache', () => {
  const host = { gpu: 'NVIDIA Jetson Orin NX', tensorrtVersion: '10.3.0' };
  it('is keyed by model sha256, TensorRT version and GPU', () => {
    const a = tensorrtCacheDir('/var/lib/m', 'face-mesh', 'ab'.repeat(32), host);
    expect(a).toBe(path.join('/var/lib/m', 'trt-engines', 'face-mesh', `${'ab'.repeat(8)}-trt10.3.0-nvidia-jetson-orin-nx`));
    expect(tensorrtCacheDir('/var/lib/m', 'face-mesh', 'cd'.repeat(32), host)).not.toBe(a);
    expect(tensorrtCacheDir('/var/lib/m', 'face-mesh', 'ab'.repeat(32), { ...host, tensorrtVersion: '10.4.0' })).not.toBe(a);
    expect(tensorrtCacheDir('/var/lib/m', 'face-mesh', 'ab'.repeat(32), { ...host, gpu: 'NVIDIA RTX A2000' })).not.toBe(a);
  });

  it('prunes engines built for another GPU/TensorRT and records the key, even when TensorRT then fails to start', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'st-'));
    const trtHost: HostInfo = { ...cpuHost, ...host, ortProviderLibs: { cuda: true, tensorrt: true } };
    const stale = path.join(stateDir, 'trt-engines', 'iris', '0123456789abcdef-trt8.6.1-nvidia-jetson-orin-nx');
    await mkdir(stale, { recursive: true });
    const { lines, logger } = recorder();
    const runtime = await createOnnxRuntime({ providers: ['tensorrt', 'cpu'], stateDir, logger, host: trtHost });
    const resolved = await resolveModel('iris', undefined, 'onnx');
    const model = await runtime.load(resolved);
    expect(model.backend).toBe('onnx-cpu');
    const dirs = await readdir(path.join(stateDir, 'trt-engines', 'iris'));
    expect(dirs).toEqual([path.basename(tensorrtCacheDir(stateDir, 'iris', resolved.manifest.files[0].sha256, trtHost))]);
    const key = JSON.parse(await readFile(path.join(stateDir, 'trt-engines', 'iris', dirs[0], 'key.json'), 'utf8'));
    expect(key).toMatchObject({ model: 'iris', sha256: resolved.manifest.files[0].sha256, tensorrt: '10.3.0', gpu: 'NVIDIA Jetson Orin NX' });
    expect(lines.some((l) => l.level === 'warn' && l.obj.provider === 'tensorrt')).toBe(true);
    model.dispose();
  });
});
