/**
 * The plain or attention mesh per device (device/vision/mesh-choice.ts), through the daemon's own
 * face stage (createFaceStage: real models on ONNX Runtime CPU, the config as validated): pinned
 * plain and attention, auto under a cost ratio either side of the measured one, and an attention
 * mesh that cannot run on its backend (TF.js WASM) falling back to the plain mesh with the reason.
 * With the attention mesh the tracker's landmarks are its 478 points: refined lips and eyes in the
 * mesh's places (what regions.ts reads), irises from the mesh, smoothed like the plain mesh.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../device/config/load.ts';
import { createFaceStage, type FaceStage, type FaceStageOptions } from '../../device/vision/face-stage.ts';
import { MESH_COST_FILE, meshCostKey } from '../../device/vision/mesh-cost-cache.ts';
import { createModelLoader } from '../../device/vision/runtime/select.ts';
import { resolveModel } from '../../models/registry.ts';
import { buildBundle, parseBundle, writeBundleFiles } from '../../models/bundle.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { loop, EYE_RIGHT, LIPS_OUTER } from '../../device/vision/regions.ts';
import { cropImage, readRgb } from '../helpers/vision.ts';
import { shopperWindow } from './transform.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SAMPLE3_FACE = { x: 1075, y: 215, width: 220, height: 299 };
const stages: FaceStage[] = [];
let frame: RgbImage;

async function stage(vision: Record<string, unknown>, options: Partial<FaceStageOptions> = {}): Promise<FaceStage> {
  const config = validateConfig({ vision: { backend: 'onnx', providers: ['cpu'], ...vision } });
  const s = await createFaceStage(config.vision, quiet, { stateDir: mkdtempSync(path.join(os.tmpdir(), 'mesh-choice-')), ...options });
  stages.push(s);
  return s;
}

beforeAll(async () => {
  const image = await readRgb('@vladmandic/face-api/demo/sample3.jpg');
  const crop = cropImage(image, shopperWindow(SAMPLE3_FACE));
  const data = await sharp(Buffer.from(crop.data), { raw: { width: crop.width, height: crop.height, channels: 3 } }).resize(640, 480, { fit: 'fill' }).raw().toBuffer();
  frame = { width: 640, height: 480, data: new Uint8Array(data) };
}, 60_000);

afterAll(() => stages.forEach((s) => s.dispose()));

describe('plain or attention mesh, chosen per device', () => {
  it('pinned attention: 478 points, refined lips/eyes where regions read them, irises from the mesh, smoothed', async () => {
    const s = await stage({ mesh: 'attention' });
    expect(s.meshChoice()).toMatchObject({ mode: 'attention', serving: 'attention-mesh' });
    expect(s.updatable).toContain('attention-mesh');
    expect(s.updatable).not.toContain('face-mesh');
    expect(s.modelVersions['attention-mesh']).toMatch(/^facemesh-attention-478/);
    const first = (await s.tracker.process(frame)).faces[0];
    expect(first.landmarks).toHaveLength(478);
    // Irises: centre and rim from points 468-477, the right one inside the right eye's contour box.
    const eye = loop(first.landmarks, EYE_RIGHT);
    const [x0, x1] = [Math.min(...eye.map((p) => p[0])), Math.max(...eye.map((p) => p[0]))];
    expect(first.iris!.right.center).toEqual([first.landmarks[468][0], first.landmarks[468][1]]);
    expect(first.iris!.right.center[0]).toBeGreaterThan(x0);
    expect(first.iris!.right.center[0]).toBeLessThan(x1);
    expect(first.iris!.left.center).toEqual([first.landmarks[473][0], first.landmarks[473][1]]);
    expect(first.iris!.right.radius).toBeGreaterThan(0.1 * (x1 - x0));
    // The lip loop regions.ts paints is the attention mesh's refined lips, not the plain mesh's.
    const plain = await stage({ mesh: 'plain' });
    const p = (await plain.tracker.process(frame)).faces[0];
    const moved = LIPS_OUTER.map((i) => Math.hypot(first.landmarks[i][0] - p.landmarks[i][0], first.landmarks[i][1] - p.landmarks[i][1]));
    expect(Math.max(...moved)).toBeGreaterThan(0.5);
    expect(moved.reduce((a, b) => a + b, 0) / moved.length).toBeLessThan(10);
    // Smoothed: a second, slightly shifted frame is not handed on raw (the smoother ran on 478 points).
    const shifted = { ...frame, data: frame.data.slice(3 * 2), capturedAt: 33 } as RgbImage & { capturedAt: number };
    const raw = await stage({ mesh: 'attention', smoothing: { enabled: false } });
    await raw.tracker.process(frame);
    const [smoothed, unsmoothed] = [(await s.tracker.process(shifted)).faces[0], (await raw.tracker.process(shifted)).faces[0]];
    const gap = unsmoothed.landmarks.map((q, i) => Math.hypot(q[0] - smoothed.landmarks[i][0], q[1] - smoothed.landmarks[i][1]));
    expect(Math.max(...gap.slice(468))).toBeGreaterThan(0.01);
  }, 180_000);

  it('pinned plain: the 468-point mesh, the iris model beside it when iris is on', async () => {
    const s = await stage({ mesh: 'plain', iris: true });
    expect(s.meshChoice()).toMatchObject({ mode: 'plain', serving: 'face-mesh', reason: 'vision.mesh is "plain"', source: 'config' });
    expect(s.updatable).toEqual(expect.arrayContaining(['face-mesh', 'iris']));
    const face = (await s.tracker.process(frame)).faces[0];
    expect(face.landmarks).toHaveLength(468);
    expect(face.iris).toBeDefined();
  }, 120_000);

  it('auto: the attention mesh within the cost ratio, the plain mesh past it, both timed and said why', async () => {
    const generous = await stage({ mesh: 'auto', attentionMaxCost: 20, iris: true });
    const g = generous.meshChoice();
    expect(g.serving).toBe('attention-mesh');
    expect(g.cost['attention-mesh']!.cpuMs).toBeGreaterThan(0);
    expect(g.cost['face-mesh']!.wallMs).toBeGreaterThan(0);
    expect(g.measure).toBe('cpu');
    expect(g.source).toBe('timed');
    expect(g.reason).toMatch(/costs [\d.]+x the plain mesh in cpu time \(onnx-cpu vs onnx-cpu\) <= 20x/);
    // The attention mesh brings the irises: no iris model runs beside it.
    expect(generous.updatable).not.toContain('iris');
    // It costs more than the plain mesh (its crops of lips and eyes are extra work): past 1x, plain.
    const strict = await stage({ mesh: 'auto', attentionMaxCost: 1 });
    const c = strict.meshChoice();
    expect(c.serving).toBe('face-mesh');
    expect(c.cost['attention-mesh']!.cpuMs).toBeGreaterThan(c.cost['face-mesh']!.cpuMs);
    expect(c.reason).toMatch(/costs [\d.]+x the plain mesh in cpu time \(onnx-cpu vs onnx-cpu\) > 1x/);
    expect(strict.modelVersions['attention-mesh']).toBeUndefined();
  }, 180_000);

  it('an attention mesh that cannot run on its backend (TF.js WASM) serves the plain mesh and says why', async () => {
    const s = await stage({ mesh: 'attention', backend: 'tfjs-wasm' });
    expect(s.meshChoice().serving).toBe('face-mesh');
    expect(s.meshChoice().reason).toMatch(/does not run on tfjs-wasm/);
    expect(s.meshChoice().source).toBe('fallback');
    expect((await s.tracker.process(frame)).faces[0].landmarks).toHaveLength(468);
  }, 180_000);

  it('vision.mesh is validated: an unknown mode or a cost ratio below 1 is refused naming the field', () => {
    expect(() => validateConfig({ vision: { mesh: 'fancy' } })).toThrow(/vision\.mesh/);
    expect(() => validateConfig({ vision: { attentionMaxCost: 0.5 } })).toThrow(/vision\.attentionMaxCost/);
    expect(validateConfig({}).vision).toMatchObject({ mesh: 'auto', attentionMaxCost: 1.3 });
  });

  describe('auto: the timings cached per device, re-timed when a mesh, its backend or the host changes', () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'mesh-cache-'));
    const onDevice = (vision: Record<string, unknown> = {}, options: Partial<FaceStageOptions> = {}) =>
      stage({ mesh: 'auto', attentionMaxCost: 1.3, ...vision }, { stateDir, ...options });
    /**
     * The plain mesh's committed update, unpacked as the update store does (a registry directory):
     * the ONNX float32 model as `version`, with the weights of `variant` (fp16: other bytes, same version).
     */
    const meshUpdate = async (version: string, variant: 'fp32' | 'fp16' = 'fp32'): Promise<Partial<FaceStageOptions>> => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-update-'));
      const m = await resolveModel('face-mesh', undefined, 'onnx', variant);
      const bundle = parseBundle(buildBundle({ ...m.manifest, version, convertedFrom: undefined }, m.files));
      await writeBundleFiles(bundle, dir, (file, data) => writeFile(file, data));
      return { updates: { 'face-mesh': path.join(dir, 'manifests') } };
    };
    let first: ReturnType<FaceStage['meshChoice']>;

    it('a restart serves the same mesh from the cached costs, not re-timed; the cost limit is applied to them afresh', async () => {
      first = (await onDevice()).meshChoice();
      expect(first.source).toBe('timed');
      const file = JSON.parse(readFileSync(path.join(stateDir, MESH_COST_FILE), 'utf8')) as { cost: unknown; key: string };
      expect(file.cost).toEqual(first.cost);
      expect(file.key).toContain('onnx-cpu');

      const again = (await onDevice()).meshChoice();
      // The very numbers measured at the first start (a re-timing would not repeat them to the microsecond).
      expect(again).toEqual({ ...first, source: 'cache' });
      // A new limit is compared with the cached costs: no timing needed to change one's mind.
      const generous = (await onDevice({ attentionMaxCost: 20 })).meshChoice();
      expect(generous).toMatchObject({ source: 'cache', serving: 'attention-mesh', cost: first.cost, decidedAt: first.decidedAt });
    }, 240_000);

    it('a mesh update (new version, or other bytes under the same version) is re-timed, then cached in turn', async () => {
      const bundled = (await onDevice()).modelVersions;
      expect(bundled['face-mesh'] ?? bundled['attention-mesh']).toBeTruthy();
      const plainVersion = (await resolveModel('face-mesh', undefined, 'onnx')).manifest.version;
      const update = await meshUpdate(`${plainVersion}-ota`);
      const updatedStage = await onDevice({}, update);
      const updated = updatedStage.meshChoice();
      expect(updated.source).toBe('timed');
      expect(updated.cost).not.toEqual(first.cost);
      expect((await onDevice({}, update)).meshChoice()).toMatchObject({ source: 'cache', cost: updated.cost });
      // Same version string, other bytes (the fp16 weights): the file hashes re-time it.
      const rebuilt = (await onDevice({}, await meshUpdate(`${plainVersion}-ota`, 'fp16'))).meshChoice();
      expect(rebuilt.source).toBe('timed');
    }, 240_000);

    it('another backend for a mesh (the backend autotune chose differently) or another host is re-timed', async () => {
      const auto = { backend: 'auto' };
      expect((await onDevice(auto)).meshChoice().source).toBe('timed');
      expect((await onDevice(auto)).meshChoice().source).toBe('cache');
      // The backend choice (select.ts's cache) now says the plain mesh runs on the other family.
      const backendsFile = path.join(stateDir, 'vision-backends.json');
      const backends = JSON.parse(readFileSync(backendsFile, 'utf8')) as { models: Record<string, { family: string; backend: string; variant: string }> };
      const plain = backends.models['face-mesh'];
      const was = plain.backend;
      plain.family = plain.family === 'onnx' ? 'tfjs' : 'onnx';
      plain.variant = 'fp32'; // the TF.js graph has float32 only
      writeFileSync(backendsFile, JSON.stringify(backends));
      const moved = await onDevice(auto);
      expect(moved.choices()['face-mesh'].backend).not.toBe(was);
      expect(moved.meshChoice().source).toBe('timed');
      expect(moved.meshChoice().reason).toContain(`vs ${moved.choices()['face-mesh'].backend})`);
      expect((await onDevice(auto)).meshChoice().source).toBe('cache');
      // The same state dir on another CPU.
      const elsewhere = await onDevice(auto, { host: { cpuModel: 'Other CPU', cores: 64, gpu: null } });
      expect(elsewhere.meshChoice().source).toBe('timed');
    }, 300_000);

    it('the same mesh files on another backend of one family (ONNX CPU vs CUDA, TF.js WASM vs node-gpu) key another timing', async () => {
      // This box has one backend per family, so the served model is relabelled as the CUDA session of the same file would be.
      const loader = await createModelLoader({ backend: 'onnx', providers: ['cpu'], precision: 'fp32', stateDir, logger: quiet });
      const m = await loader.load('face-mesh');
      const host = { cpuModel: 'cpu', cores: 2, gpu: 'H200' };
      const onCuda = { name: m.name, version: m.version, manifest: m.manifest, backend: 'onnx-cuda', run: m.run, dispose: m.dispose };
      expect(meshCostKey([m], host)).not.toBe(meshCostKey([onCuda], host));
      expect(meshCostKey([m], host)).toBe(meshCostKey([{ ...onCuda, backend: m.backend }], host));
      m.dispose();
    }, 60_000);

    it('a malformed cache file (for this very key) is re-timed, not trusted', async () => {
      expect((await onDevice()).meshChoice().source).toBe('timed');
      const file = path.join(stateDir, MESH_COST_FILE);
      const cached = JSON.parse(readFileSync(file, 'utf8')) as { cost: Record<string, unknown> };
      cached.cost['face-mesh'] = { wallMs: -1 };
      writeFileSync(file, JSON.stringify(cached));
      expect((await onDevice()).meshChoice().source).toBe('timed');
    }, 120_000);
  });
});
