/**
 * Models as plug-ins: each model is described by its manifest (input size and normalisation,
 * output names, decoding parameters), a wrong manifest is refused naming the field, the vision
 * parts decode what the manifest says (not a hard-coded layout), and each model's smoke test
 * passes the shipped model and fails a broken one. Real models (ONNX Runtime, CPU), real frames.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { resolveModel, type ModelManifest } from '../../models/registry.ts';
import { FaceDetector } from '../../device/vision/detector.ts';
import { createOnnxRuntime } from '../../device/vision/runtime/onnx-runtime.ts';
import type { InferenceRuntime, LoadedModel } from '../../device/vision/runtime/runtime.ts';
import type { HostInfo } from '../../device/vision/runtime/host.ts';
import type { AttentionMeshDecode } from '../../models/decode.ts';
import { loadGoldenFrames, smokeTestDetector, smokeTestIris, smokeTestMesh, smokeTestSegmentation } from '../../device/vision/update-port.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { FaceMesh } from '../../device/vision/mesh.ts';
import type { GoldenFace } from '../../device/update/vision-port.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { repoRoot } from '../helpers/daemon.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const cpuHost: HostInfo = { cpuModel: 'Test CPU', cores: 2, gpu: null, tensorrtVersion: null, ortProviderLibs: { cuda: false, tensorrt: false } };
const options = { detectorMinScore: 0.5, meshMinScore: 0.5, latencyBudgetMs: 5000 };

/** A private copy of the manifests and ONNX files, manifests edited by `edit`. */
async function editedCopy(file: string, edit: (m: ModelManifest) => void): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'plugin-models-'));
  await mkdir(path.join(root, 'manifests'));
  await mkdir(path.join(root, 'onnx'));
  for (const f of await readdir(path.join(repoRoot, 'models', 'manifests'))) await copyFile(path.join(repoRoot, 'models', 'manifests', f), path.join(root, 'manifests', f));
  for (const f of await readdir(path.join(repoRoot, 'models', 'onnx'))) await copyFile(path.join(repoRoot, 'models', 'onnx', f), path.join(root, 'onnx', f));
  const p = path.join(root, 'manifests', file);
  const m = JSON.parse(await readFile(p, 'utf8')) as ModelManifest;
  edit(m);
  await writeFile(p, JSON.stringify(m));
  return path.join(root, 'manifests');
}

async function refusal(p: Promise<unknown>): Promise<MirrorError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MirrorError);
  return err as MirrorError;
}

let runtime: InferenceRuntime;
let frames: RgbImage[];
const loaded: LoadedModel[] = [];
const load = async (name: string, dir?: string): Promise<LoadedModel> => {
  const m = await runtime.load(await resolveModel(name, dir, 'onnx'));
  loaded.push(m);
  return m;
};

beforeAll(async () => {
  runtime = await createOnnxRuntime({ providers: ['cpu'], stateDir: await mkdtemp(path.join(tmpdir(), 'plugin-st-')), logger: quiet, host: cpuHost });
  frames = await loadGoldenFrames();
}, 60_000);
afterAll(() => loaded.forEach((m) => m.dispose()));

describe('a wrong manifest is refused, naming the field', () => {
  it('a detector input size its anchors do not fit (300 px, stride 32)', async () => {
    const dir = await editedCopy('face-detector.onnx.json', (m) => (m.input.shape = [1, 300, 300, 3]));
    const err = await refusal(resolveModel('face-detector', dir, 'onnx'));
    expect(err.code).toBe('MIRROR_ERR_MODEL_MANIFEST');
    expect(err.message).toMatch(/^model face-detector: manifest field "input\.shape": input size 300 is not a multiple of the anchor stride 16/);
  });

  it('an input that is not a batch-1 RGB image', async () => {
    const dir = await editedCopy('iris.onnx.json', (m) => (m.input.shape = [1, 64, 64]));
    const err = await refusal(resolveModel('iris', dir, 'onnx'));
    expect(err.message).toContain('manifest field "input.shape"');
  });

  it('a decoder that names an output the manifest does not list', async () => {
    const dir = await editedCopy('face-detector.onnx.json', (m) => delete m.outputs.Identity_3);
    const err = await refusal(resolveModel('face-detector', dir, 'onnx'));
    expect(err.message).toMatch(/manifest field "decode\.layers\.1\.boxes": names output "Identity_3", which "outputs" does not list/);
  });

  it('an output the graph does not produce is refused when the model loads', async () => {
    const dir = await editedCopy('face-mesh.onnx.json', (m) => {
      m.outputs = { Identity_9: 1404, Identity_1: 1 };
      if (m.decode.kind === 'face-mesh') m.decode.landmarks = 'Identity_9';
    });
    const err = await refusal(runtime.load(await resolveModel('face-mesh', dir, 'onnx')));
    expect(err.code).toBe('MIRROR_ERR_MODEL_CONTRACT');
    expect(err.message).toMatch(/^model face-mesh: manifest field "outputs\.Identity_9": the graph has no output "Identity_9"/);
  });

  it('an output of another size than the graph gives', async () => {
    const dir = await editedCopy('iris.onnx.json', (m) => (m.outputs.Identity = 300));
    const err = await refusal(runtime.load(await resolveModel('iris', dir, 'onnx')));
    expect(err.message).toBe('model iris: manifest field "outputs.Identity": the graph\'s output has 228 values, the manifest says 300');
  });

  it('a decoder of another task', async () => {
    const dir = await editedCopy('segmentation.onnx.json', (m) => (m.decode = { kind: 'iris', output: 'activation_10', contourPoints: 71, irisPoints: 5, cropScale: 2.3 }));
    const err = await refusal(resolveModel('segmentation', dir, 'onnx'));
    expect(err.message).toContain('manifest field "decode.kind": "iris" does not decode a segmentation model');
  });
});

describe('the vision parts decode what the manifest says', () => {
  it('the detector follows the manifest: its anchor layers listed in the other order find the same faces', async () => {
    const shipped = new FaceDetector(await load('face-detector'), { minScore: 0.5 });
    const dir = await editedCopy('face-detector.onnx.json', (m) => {
      if (m.decode.kind === 'blazeface') m.decode.layers.reverse();
    });
    const reordered = new FaceDetector(await load('face-detector', dir), { minScore: 0.5 });
    for (const frame of frames) {
      const [a, b] = [await shipped.detect(frame), await reordered.detect(frame)];
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBe(a.length);
      expect(b[0].box.x).toBeCloseTo(a[0].box.x, 3);
      expect(b[0].box.width).toBeCloseTo(a[0].box.width, 3);
    }
  });

  it('a detector swapped in (an update) serves from the next call, with its own manifest', async () => {
    const detector = new FaceDetector(await load('face-detector'), { minScore: 0.5 });
    // A manifest that misplaces the anchors by half a cell: the same graph, other decoding.
    const dir = await editedCopy('face-detector.onnx.json', (m) => {
      if (m.decode.kind === 'blazeface') m.decode.anchorOffset = 0;
    });
    const before = (await detector.detect(frames[0]))[0].box;
    const previous = detector.swap(await load('face-detector', dir));
    expect(previous.version).toBe(detector.model.version);
    const after = (await detector.detect(frames[0]))[0].box;
    // Every anchor moved up-left by half its stride (8 or 16 input px = 20 or 40 frame px on a 640 px frame).
    expect(before.x - after.x).toBeGreaterThan(10);
  });
});

describe('each model has its own smoke test, on the golden frames', () => {
  const golden: GoldenFace[] = [];
  beforeAll(async () => {
    const t = new FaceTracker(new FaceDetector(await load('face-detector'), { minScore: 0.5 }), new FaceMesh(await load('face-mesh')), { minMeshScore: 0.5 });
    for (const image of frames) {
      t.reset();
      await t.process(image);
      const face = (await t.process(image)).faces[0];
      if (face) golden.push({ image, face });
    }
    expect(golden).toHaveLength(frames.length);
  }, 60_000);

  it('face-detector: the shipped one passes; one fed the wrong normalisation fails', async () => {
    const [ref, mesh] = [await load('face-detector'), await load('face-mesh')];
    expect(await smokeTestDetector(frames, await load('face-detector'), ref, mesh, options)).toBeNull();
    const dir = await editedCopy('face-detector.onnx.json', (m) => {
      m.input.range = [0, 255];
    });
    expect(await smokeTestDetector(frames, await load('face-detector', dir), ref, mesh, options)).toMatch(/^golden frame 1: /);
  });

  it('face-mesh: the shipped one passes; one fed the wrong normalisation fails', async () => {
    const ref = await load('face-mesh');
    expect(await smokeTestMesh(frames, await load('face-mesh'), await load('face-detector'), options, ref)).toBeNull();
    const dir = await editedCopy('face-mesh.onnx.json', (m) => (m.input.range = [0, 255]));
    expect(await smokeTestMesh(frames, await load('face-mesh', dir), await load('face-detector'), options, ref)).toMatch(/^golden frame 1: /);
  });

  it('attention-mesh: the shipped one passes; one whose manifest swaps the irises fails on the iris placement', async () => {
    const ref = await load('face-mesh');
    expect(await smokeTestMesh(frames, await load('attention-mesh'), await load('face-detector'), options, ref)).toBeNull();
    const dir = await editedCopy('attention-mesh.onnx.json', (m) => {
      const d = m.decode as AttentionMeshDecode;
      [d.leftIris, d.rightIris] = [d.rightIris, d.leftIris];
    });
    expect(await smokeTestMesh(frames, await load('attention-mesh', dir), await load('face-detector'), options, ref)).toMatch(/^golden frame 1: the right iris centre is not between the eye corners/);
  });

  it('iris: the shipped one passes; one cut from crops twice as wide fails on the radius', async () => {
    expect(await smokeTestIris(golden, await load('iris'), options)).toBeNull();
    const dir = await editedCopy('iris.onnx.json', (m) => {
      if (m.decode.kind === 'iris') m.decode.cropScale = 6;
    });
    expect(await smokeTestIris(golden, await load('iris', dir), options)).toMatch(/^golden frame 1: the (right|left) iris/);
  });

  it('segmentation: selfie and meet pass; one fed 0..255 instead of its 0..1 range fails on the mask', async () => {
    expect(await smokeTestSegmentation(golden, await load('segmentation'), options)).toBeNull();
    expect(await smokeTestSegmentation(golden, await load('segmentation-meet'), options)).toBeNull();
    const dir = await editedCopy('segmentation.onnx.json', (m) => (m.input.range = [0, 255]));
    expect(await smokeTestSegmentation(golden, await load('segmentation', dir), options)).toMatch(/^golden frame 1: the mask covers/);
  });

  it('every smoke test holds its model to the latency budget', async () => {
    const tight = { ...options, latencyBudgetMs: 0.001 };
    expect(await smokeTestIris(golden, await load('iris'), tight)).toMatch(/^median iris time .* exceeds the 0.001 ms budget$/);
    expect(await smokeTestDetector(frames, await load('face-detector'), await load('face-detector'), await load('face-mesh'), tight)).toMatch(/^median detector time/);
  });
});
