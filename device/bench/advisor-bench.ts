/**
 * npm run bench (part): the beauty advisor's cost. (1) Per analysed frame: sampleSkin on the demo
 * clip's faces at 640x480 and 1280x720 (wall and CPU time), and per pipeline frame with the
 * daemon's cadence (config advisor.everyFrames: one frame in N analysed, the rest one comparison).
 * (2) The real pipeline on the demo clip paced at 30 fps at 640x480, with the advisor reading each
 * frame before try-on as the daemon does (daemon/frame-path.ts), and without: sustained fps.
 * BENCH_SECONDS sets each sustained run (default 10). On a shared machine wall time includes
 * waiting for a core: the CPU column is the advisor's own work.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AdvisorSession } from '../advisor/session.ts';
import { sampleSkin } from '../advisor/skin-sample.ts';
import { validateConfig } from '../config/load.ts';
import { LatestFrameSlot } from '../core/flow-limiter.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { PipelineStats, RollingWindow } from '../core/pipeline-stats.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { Pipeline } from '../pipeline.ts';
import { DEMO_CLIP } from '../source/index.ts';
import { ImageFolderSource } from '../source/image-folder-source.ts';
import { bundledCatalog, CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, nothingChosen } from '../tryon/tryon-stage.ts';
import type { Face } from '../vision/face.ts';
import { createFaceStage } from '../vision/face-stage.ts';
import { printTable } from './table.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RESOLUTIONS = [
  [640, 480],
  [1280, 720],
] as const;
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o) };
const fmt = (v: number) => v.toFixed(2);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const config = validateConfig({});
const EVERY = config.advisor.everyFrames;
const catalog = bundledCatalog();
const newSession = () =>
  new AdvisorSession({
    everyFrames: EVERY,
    settleMs: config.advisor.settleMs,
    leaveMs: config.advisor.leaveMs,
    catalog: () => catalog,
    trends: () => ({ artifact: null, storeId: 'bench', minSessions: config.advisor.minSessions }),
    emit: () => {},
  });
const vision = await createFaceStage(config.vision, quiet, { stateDir: await mkdtemp(path.join(os.tmpdir(), 'mirror-advisor-bench-')) });

// 1. Per frame.
const rows: string[][] = [];
for (const [width, height] of RESOLUTIONS) {
  vision.tracker.reset();
  const files = (await readdir(DEMO_CLIP)).filter((f) => f.endsWith('.jpg')).sort();
  const frames: Array<{ frame: Frame; face: Face }> = [];
  for (const [n, f] of files.entries()) {
    const data = await sharp(path.join(DEMO_CLIP, f)).removeAlpha().resize(width, height, { fit: 'cover' }).raw().toBuffer();
    const frame: Frame = { id: n + 1, capturedAt: n * 33.3, width, height, format: 'rgb24', data };
    const face = (await vision.tracker.process(frame)).faces[0];
    if (face) frames.push({ frame, face });
  }
  const wall = new RollingWindow(4096);
  const cpu = new RollingWindow(4096);
  for (let round = 0; round < 2; round++)
    for (const { frame, face } of frames) {
      const t0 = nowMs();
      const c0 = cpuMs();
      sampleSkin(frame, face);
      if (round > 0) {
        wall.push(nowMs() - t0);
        cpu.push(cpuMs() - c0);
      }
    }
  const session = newSession();
  const perFrame = new RollingWindow(4096);
  const c0 = cpuMs();
  for (const { frame, face } of frames) {
    const t0 = nowMs();
    session.observe(frame, [face], frame.capturedAt);
    perFrame.push(nowMs() - t0);
  }
  const amortisedCpu = (cpuMs() - c0) / frames.length;
  rows.push([`${width}x${height}`, String(frames.length), fmt(wall.percentile(50)), fmt(wall.percentile(95)), fmt(cpu.percentile(50)), fmt(perFrame.percentile(50)), fmt(amortisedCpu)]);
}

// 2. Sustained at 640x480, with and without the advisor in the frame path.
const tryOn = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: new CatalogSlot(), pin: config.tryon.pin });
const encode = createJpegEncoder(config.encode.quality);
async function sustained(withAdvisor: boolean): Promise<string[]> {
  vision.tracker.reset();
  const session = newSession();
  const slot = new LatestFrameSlot();
  const stats = new PipelineStats({ dropped: () => slot.dropped, fpsWindowMs: SECONDS * 1000 });
  const pipeline = new Pipeline(
    slot,
    {
      vision: (f) => vision.tracker.process(f),
      tryOn: (frame, faces, person) => {
        if (withAdvisor) session.observe(frame, faces, frame.capturedAt);
        return tryOn(frame, faces, person);
      },
      encode,
      emit: () => {},
    },
    stats,
    quiet,
  );
  const source = new ImageFolderSource({ dir: DEMO_CLIP, width: 640, height: 480, fps: 30, logger: quiet });
  pipeline.start();
  await source.start((frame) => slot.offer(frame));
  await new Promise((r) => setTimeout(r, 2000)); // warm-up, excluded
  stats.reset();
  const t0 = nowMs();
  const c0 = cpuMs();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = stats.snapshot(nowMs());
  const elapsedS = (nowMs() - t0) / 1000;
  const cpuPerFrame = (cpuMs() - c0) / Math.max(1, after.processedFrames);
  await source.stop();
  slot.close();
  await pipeline.stopped();
  return [withAdvisor ? `on (1 frame in ${EVERY})` : 'off', fmt(after.processedFrames / elapsedS), fmt(after.latencyP95Ms), fmt(cpuPerFrame)];
}
const runs = [await sustained(false), await sustained(true)];
vision.dispose();

printTable(
  'Beauty advisor, demo clip (ms)',
  ['resolution', 'faces', 'analysis p50', 'analysis p95', 'analysis CPU p50', `per frame p50 (1 in ${EVERY})`, 'per frame CPU mean'],
  rows,
);
printTable(`Pipeline at 640x480, demo clip paced at 30 fps, ${SECONDS} s`, ['advisor', 'fps', 'capture→emit p95 ms', 'process CPU ms per frame'], runs);
const load = os.loadavg()[0];
console.log(`load average ${load.toFixed(1)} on ${os.cpus().length} cores${load > os.cpus().length ? ' (machine busy: wall times and fps inflated/deflated by waiting for a core)' : ''}`);
process.exit(0);
