/**
 * npm run bench (framing part): the daemon's frame path with the virtual mirror on, at the new
 * capture size: the portrait demo clip through the ffmpeg capture child as a 1920x1080 camera on
 * its side (frames 1080x1920), the CNNs on the 360x640 copy, the crop for a 1080x1920 glass, the
 * default look rendered on the crop, JPEG. Sustained at the camera's 30 fps: fps, capture→emit
 * p50/p95, drops; the daemon's CPU time per frame beside wall time (the machine may be shared);
 * then per-stage times back to back. BENCH_SECONDS sets the sustained run's length (default 10).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../config/load.ts';
import { LatestFrameSlot } from '../core/flow-limiter.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { PipelineStats, RollingWindow } from '../core/pipeline-stats.ts';
import { framingStage } from '../daemon/frame-path.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { framedStages } from '../framing/stage.ts';
import { Pipeline } from '../pipeline.ts';
import { createSource } from '../source/index.ts';
import { CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, nothingChosen } from '../tryon/tryon-stage.ts';
import { createFaceStage } from '../vision/face-stage.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIP = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo-portrait.mp4');
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o), debug: () => {}, trace: () => {}, fatal: () => {}, child: () => quiet } as never;
const config = validateConfig({ source: `clip:${CLIP}`, capture: { width: 1920, height: 1080, rotation: 90 }, framing: { enabled: true } });
const fmt = (v: number) => v.toFixed(1);

const vision = await createFaceStage(config.vision, quiet, { stateDir: await mkdtemp(path.join(os.tmpdir(), 'mirror-bench-')) });
const tryOn = createTryOnStage({ selection: nothingChosen, gate: createOcclusionGate, catalog: new CatalogSlot(), pin: config.tryon.pin });
const encode = createJpegEncoder(config.encode.quality);
const track = (small: Frame) => vision.tracker.process(small);
const emitted: { last?: { width: number; height: number; magnification: number } } = {};

// 1. Sustained: the capture child paced at 30 fps, the daemon's framed stages, emit is the end.
const slot = new LatestFrameSlot();
const stats = new PipelineStats({ dropped: () => slot.dropped, fpsWindowMs: SECONDS * 1000 });
const pipeline = new Pipeline(
  slot,
  {
    ...framedStages(framingStage(config, vision), track, () => {}),
    tryOn,
    encode,
    emit: (f) => {
      emitted.last = { width: f.width, height: f.height, magnification: f.framing!.magnification };
    },
  },
  stats,
  quiet,
);
const source = createSource(config.source, config.capture, quiet);
pipeline.start();
await source.start((frame) => slot.offer(frame));
await new Promise((r) => setTimeout(r, 3000)); // warm-up, excluded
stats.reset();
const droppedBefore = slot.dropped;
const cpu0 = process.cpuUsage();
const t0 = nowMs();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const after = stats.snapshot(nowMs());
const cpu = process.cpuUsage(cpu0);
const elapsedS = (nowMs() - t0) / 1000;
await source.stop();
slot.close();
await pipeline.stopped();
const cpuMsPerFrame = (cpu.user + cpu.system) / 1000 / Math.max(1, after.processedFrames);
console.log(`\nFramed pipeline: ${source.description}, glass ${config.display.width}x${config.display.height}, backends ${JSON.stringify(vision.backends)}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
console.log('| capture | emitted | fps | p50 ms | p95 ms | dropped | errors | daemon CPU ms/frame | magnification |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(
  `| 1920x1080 on its side → 1080x1920 | ${emitted.last ? `${emitted.last.width}x${emitted.last.height}` : '-'} | ${fmt(after.processedFrames / elapsedS)} | ${fmt(after.latencyP50Ms)} | ${fmt(after.latencyP95Ms)} | ${slot.dropped - droppedBefore} | ${after.stageErrors} | ${fmt(cpuMsPerFrame)} | ${emitted.last?.magnification ?? '-'} |`,
);

// 2. Per stage, back to back, on frames the same capture child delivered (kept as copies).
const frames: Frame[] = [];
const grab = createSource(config.source, config.capture, quiet);
await grab.start((frame) => {
  if (frames.length < 60) frames.push({ ...frame, data: Buffer.from(frame.data) });
  frame.release();
});
while (frames.length < 60) await new Promise((r) => setTimeout(r, 50));
await grab.stop();
const stages = framedStages(framingStage(config, vision), track, () => {});
const times = { vision: new RollingWindow(512), frame: new RollingWindow(512), tryOn: new RollingWindow(512), encode: new RollingWindow(512), total: new RollingWindow(512), cpu: new RollingWindow(512) };
vision.tracker.reset();
for (let n = 0; n < frames.length * 2; n++) {
  const frame = { ...frames[n % frames.length], capturedAt: nowMs() };
  const c0 = process.cpuUsage();
  const a = nowMs();
  const seen = await stages.vision(frame);
  const b = nowMs();
  const shown = await stages.frame(frame, seen);
  const c = nowMs();
  tryOn(shown.frame, shown.faces, shown.segmentation);
  const d = nowMs();
  await encode(shown.frame);
  const e = nowMs();
  const used = process.cpuUsage(c0);
  if (n < 10) continue;
  times.vision.push(b - a);
  times.frame.push(c - b);
  times.tryOn.push(d - c);
  times.encode.push(e - d);
  times.total.push(e - a);
  times.cpu.push((used.user + used.system) / 1000);
}
console.log('\n| per frame, back to back (ms, p50) | downscale + vision | crop | try-on | encode | total p50 | total p95 | CPU p50 |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(`| framed 1080x1920 | ${fmt(times.vision.percentile(50))} | ${fmt(times.frame.percentile(50))} | ${fmt(times.tryOn.percentile(50))} | ${fmt(times.encode.percentile(50))} | ${fmt(times.total.percentile(50))} | ${fmt(times.total.percentile(95))} | ${fmt(times.cpu.percentile(50))} |`);
vision.dispose();
