/**
 * npm run bench:gan (also the last step of npm run bench): the GAN stage with the committed
 * reference model (models/gan/reference).
 *   1. Model latency per backend: each ONNX Runtime provider chain the config can ask for, the
 *      backend that really served (a missing CUDA/TensorRT provider says why), median and p95 ms per
 *      run on an aligned crop, and CPU ms per run.
 *   2. End to end on the demo clip paced at 30 fps, 640x480, the daemon's pipeline (vision → try-on
 *      → GAN → encode) with the catalog's default look: GAN off, GAN with the default budget (the
 *      stage picks its schedule), GAN forced on every frame (budget 1 s). fps, capture→emit p50/p95,
 *      the stage's mode and counts.
 * BENCH_SECONDS sets the length of each sustained run (default 10).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { validateConfig } from '../config/load.ts';
import { LatestFrameSlot } from '../core/flow-limiter.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { PipelineStats } from '../core/pipeline-stats.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { openGanModel } from '../gan/gan-model.ts';
import { GanStage } from '../gan/gan-stage.ts';
import { DEFAULT_GUARD, guardResidual, newGuardScratch } from '../gan/residual-guard.ts';
import { Pipeline } from '../pipeline.ts';
import { DEMO_CLIP } from '../source/index.ts';
import { ImageFolderSource } from '../source/image-folder-source.ts';
import { CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, nothingChosen } from '../tryon/tryon-stage.ts';
import { createFaceStage } from '../vision/face-stage.ts';
import { probeHost } from '../vision/runtime/host.ts';
import { REFERENCE_GAN_DIR } from '../../models/gan/manifest.ts';
import { printTable } from './table.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o) };
const config = validateConfig({});
const fmt = (v: number) => v.toFixed(1);
const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mirror-gan-bench-'));

const host = await probeHost();
console.log(`GAN bench: ${REFERENCE_GAN_DIR}; host ${host.cpuModel} x${host.cores}, GPU ${host.gpu ?? 'none'}; onnxruntime providers built in: ${ort.listSupportedBackends().map((b) => b.name).join(', ')}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// 1. Latency per backend.
const latency: Array<Array<string | number>> = [];
for (const chain of [['cpu'], ['cuda', 'cpu'], ['tensorrt', 'cuda', 'cpu']]) {
  const warnings: string[] = [];
  const logger = { ...quiet, warn: (o: object) => warnings.push(String((o as { reason?: string }).reason ?? '')) };
  const model = await openGanModel(REFERENCE_GAN_DIR, { providers: chain, stateDir, logger });
  const n = model.size * model.size;
  const bare = new Uint8Array(n * 3).map((_, i) => 100 + (i % 37));
  const render = bare.map((v, i) => (i % 3 === 0 ? Math.min(255, v + 40) : v));
  const coverage = new Float32Array(n).fill(0.6);
  for (let i = 0; i < 5; i++) await model.refine(bare, render, coverage);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const runs = 50;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await model.refine(bare, render, coverage);
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const served = model.backend;
  const asked = chain[0];
  const note = served === `onnx-${asked}` ? '' : `${asked} unavailable: ${warnings[0] || (host.gpu ? 'provider failed' : 'no NVIDIA GPU visible')}`;
  latency.push([chain.join('>'), served, `${model.size}px`, fmt(times[runs >> 1]), fmt(times[Math.floor(runs * 0.95)]), fmt((cpu.user + cpu.system) / 1000 / runs), note]);
  model.dispose();
}
printTable('GAN model latency per backend (50 runs after 5 warm-ups)', ['providers asked', 'backend served', 'crop', 'p50 ms', 'p95 ms', 'CPU ms/run', 'note'], latency);

// 1b. The device's guard on each refinement (device/gan/residual-guard.ts: reach, drawn light,
// colour), on the model's worker thread after the session run (not the frame loop's): its cost adds
// to every run's time. Whole-crop region: its worst case.
{
  const size = 128;
  const n = size * size;
  const render = new Uint8Array(n * 3).map((_, i) => 100 + ((i * 7) % 53));
  const residual = new Float32Array(n * 3).map((_, i) => ((i * 13) % 9) - 4);
  const coverage = new Float32Array(n).fill(1);
  const weight = new Float32Array(n).fill(1);
  // Drawn light on one pixel in 97 (glints), as the renderer records it.
  const light = new Float32Array(n).map((_, i) => (i % 97 === 0 ? 0.1 : 0));
  // The worker keeps one scratch across runs: so does the bench.
  const scratch = newGuardScratch();
  for (let i = 0; i < 3; i++) guardResidual(residual, render, coverage, weight, size, light, DEFAULT_GUARD, scratch);
  const runs = 20;
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    guardResidual(residual, render, coverage, weight, size, light, DEFAULT_GUARD, scratch);
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  printTable('GAN residual guard per run (20 runs, whole-crop region)', ['crop', 'p50 ms', 'CPU ms/run'], [[`${size}px`, fmt(times[runs >> 1]), fmt((cpu.user + cpu.system) / 1000 / runs)]]);
}

// 2. End to end with the GAN on.
const vision = await createFaceStage(config.vision, quiet, { stateDir });
const encode = createJpegEncoder(config.encode.quality);
const rows: Array<Array<string | number>> = [];
for (const [label, budgetMs] of [
  ['GAN off', null],
  [`GAN, default budget ${config.gan.budgetMs} ms`, config.gan.budgetMs],
  ['GAN every frame (budget 1 s)', 1000],
] as const) {
  const gan = budgetMs === null ? null : await GanStage.start(await openGanModel(REFERENCE_GAN_DIR, { providers: config.vision.providers, stateDir, logger: quiet }), { budgetMs, maxEvery: config.gan.maxEvery, logger: quiet });
  const tryOn = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: new CatalogSlot(), pin: config.tryon.pin, ...(gan && { drawnLight: gan.drawnLight }) });
  vision.tracker.reset();
  const slot = new LatestFrameSlot();
  const stats = new PipelineStats({ dropped: () => slot.dropped, fpsWindowMs: SECONDS * 1000 });
  const pipeline = new Pipeline(
    slot,
    {
      vision: (f) => vision.tracker.process(f),
      tryOn: (frame, faces) => {
        gan?.capture(frame, faces);
        return tryOn(frame, faces);
      },
      ...(gan ? { refine: async (frame: Frame) => void (await gan.refine(frame)) } : {}),
      encode,
      emit: () => {},
    },
    stats,
    quiet,
  );
  const source = new ImageFolderSource({ dir: DEMO_CLIP, width: 640, height: 480, fps: 30, logger: quiet });
  pipeline.start();
  await source.start((frame) => slot.offer(frame));
  await new Promise((r) => setTimeout(r, 2000));
  stats.reset();
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = stats.snapshot(nowMs());
  const elapsedS = (nowMs() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await source.stop();
  slot.close();
  await pipeline.stopped();
  const h = gan?.health();
  rows.push([
    label,
    fmt(after.processedFrames / elapsedS),
    fmt(after.latencyP50Ms),
    fmt(after.latencyP95Ms),
    fmt((cpu.user + cpu.system) / 1e6 / elapsedS),
    h ? `${h.mode}${h.mode === 'every-nth' ? ` (1 in ${h.every})` : ''}` : '-',
    h ? fmt(h.msPerRun) : '-',
    h ? `${h.runs} / ${h.refinedFrames}` : '-',
  ]);
  await gan?.dispose();
}
printTable(
  `End to end, demo clip paced at 30 fps, 640x480, default look (${SECONDS} s each)`,
  ['run', 'fps', 'p50 ms', 'p95 ms', 'CPU cores used', 'GAN mode', 'GAN ms/run', 'GAN runs / refined frames'],
  rows,
);
console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
vision.dispose();
