/**
 * npm run bench (framing part): the daemon's frame path with the virtual mirror on, at the new
 * capture size: the portrait demo clip through the ffmpeg capture child as a 1920x1080 camera on
 * its side (frames 1080x1920, and the 360x640 copy the capture child reduces for the CNNs), the
 * crop for a 1080x1920 glass, the default look rendered on the crop, JPEG. Sustained at the
 * camera's 30 fps: fps, capture→emit p50/p95 over every frame of the run, drops; the CPU time per
 * frame of the daemon and of the capture child beside wall time (the machine may be shared);
 * then per stage back to back (CPU and wall), with the catalog's default lipstick (what a mirror
 * draws before anyone chooses) and without any look, for the glass and for a kiosk box reported by
 * kiosk:display. BENCH_SECONDS sets the sustained run's length (default 10).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../config/load.ts';
import { LatestFrameSlot } from '../core/flow-limiter.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { PipelineStats, RollingWindow } from '../core/pipeline-stats.ts';
import { captureSettings, framingStage } from '../daemon/frame-path.ts';
import { createJpegEncoder } from '../encode/jpeg-encoder.ts';
import { framedStages } from '../framing/stage.ts';
import { Pipeline } from '../pipeline.ts';
import { FfmpegSource } from '../source/ffmpeg-source.ts';
import { createSource } from '../source/index.ts';
import { CatalogSlot } from '../tryon/catalog.ts';
import { createOcclusionGate } from '../tryon/occlusion/index.ts';
import { createTryOnStage, nothingChosen } from '../tryon/tryon-stage.ts';
import { createFaceStage } from '../vision/face-stage.ts';
import { readFileSync } from 'node:fs';
import { printTable } from './table.ts';

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
/** Capture→emit of every frame emitted while measuring (the stats' rolling window keeps only the last 300). */
const latencies: number[] = [];
let measuring = false;
/** /proc/PID/stat fields after the command name (utime is [11], cutime [13]), in ms (USER_HZ 100). */
function statMs(pid: number | 'self', first: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[first]) + Number(fields[first + 1])) * 10;
}
/** CPU ms (user + system) a process has used, from /proc (the capture child). */
function processCpuMs(pid: number | undefined): number {
  return pid === undefined ? Number.NaN : statMs(pid, 11);
}
/** CPU ms of this process's children that have exited and been reaped (a restarted capture child). */
const reapedChildrenCpuMs = () => statMs('self', 13);
const nearestRank = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : Number.NaN;
};

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
      if (measuring) latencies.push(f.emittedAt - f.capturedAt);
      emitted.last = { width: f.width, height: f.height, magnification: f.framing!.magnification };
    },
  },
  stats,
  quiet,
);
const source = createSource(config.source, captureSettings(config), quiet);
const childPid = () => (source instanceof FfmpegSource ? source.childPid : undefined);
pipeline.start();
await source.start((frame) => slot.offer(frame));
await new Promise((r) => setTimeout(r, 3000)); // warm-up, excluded
stats.reset();
const droppedBefore = slot.dropped;
const cpu0 = process.cpuUsage();
const pid0 = childPid();
const child0 = processCpuMs(pid0);
const reaped0 = reapedChildrenCpuMs();
const health0 = source.health();
const t0 = nowMs();
measuring = true;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
measuring = false;
const after = stats.snapshot(nowMs());
const cpu = process.cpuUsage(cpu0);
// A child restarted during the run (the supervisor's stall watchdog or an exit: the clip itself
// loops inside one child, -stream_loop): the children that exited count whole from the reaped
// total, less what the first one had used before the run, plus the one running now.
const health1 = source.health();
const pid1 = childPid();
const childMs = pid1 === pid0 ? processCpuMs(pid0) - child0 : reapedChildrenCpuMs() - reaped0 - child0 + (pid1 === undefined ? 0 : processCpuMs(pid1));
const restarts = health1.restarts - health0.restarts;
const elapsedS = (nowMs() - t0) / 1000;
await source.stop();
slot.close();
await pipeline.stopped();
const cpuMsPerFrame = (cpu.user + cpu.system) / 1000 / Math.max(1, after.processedFrames);
// Per frame the child delivered (it decodes every one, the pipeline may skip some).
const childMsPerFrame = childMs / Math.max(1, after.processedFrames + slot.dropped - droppedBefore);
const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
printTable(
  `Framed pipeline, sustained: ${source.description}, glass ${config.display.width}x${config.display.height}, look: the catalog's default lipstick (nothing chosen), backends ${JSON.stringify(vision.backends)}, load average ${load} on ${os.cpus().length} cores`,
  ['capture', 'emitted', 'fps', 'p50 ms', 'p95 ms', 'dropped', 'errors', 'child restarts', 'daemon CPU ms/frame', 'daemon CPU % of a core', 'capture child CPU ms/frame', 'magnification'],
  [
    [
      '1920x1080 on its side → 1080x1920',
      emitted.last ? `${emitted.last.width}x${emitted.last.height}` : '-',
      fmt(after.processedFrames / elapsedS),
      fmt(nearestRank(latencies, 50)),
      fmt(nearestRank(latencies, 95)),
      slot.dropped - droppedBefore,
      after.stageErrors,
      restarts ? `${restarts} (${health1.lastError})` : 0,
      fmt(cpuMsPerFrame),
      fmt(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100),
      fmt(childMsPerFrame),
      emitted.last?.magnification ?? '-',
    ],
  ],
);

// 2. Per stage, back to back, on frames the same capture child delivered (kept as copies): wall
// and CPU (process.cpuUsage: every thread, libvips' included; one frame in flight, so each
// stage's CPU is its own). With and without the look, and for the glass and a kiosk box.
const frames: Frame[] = [];
const grab = createSource(config.source, captureSettings(config), quiet);
await grab.start((frame) => {
  const reduced = frame.reduced && { ...frame.reduced, data: Buffer.from(frame.reduced.data) };
  if (frames.length < 60) frames.push({ ...frame, data: Buffer.from(frame.data), ...(reduced && { reduced }) });
  frame.release();
});
while (frames.length < 60) await new Promise((r) => setTimeout(r, 50));
await grab.stop();

type Stage = 'downscale' | 'cnn' | 'crop' | 'tryOn' | 'encode' | 'total';
const STAGES: Stage[] = ['downscale', 'cnn', 'crop', 'tryOn', 'encode', 'total'];
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function backToBack(label: string, look: boolean, glass: { width: number; height: number } | null): Promise<Array<string | number>> {
  const wall = Object.fromEntries(STAGES.map((k) => [k, new RollingWindow(512)])) as Record<Stage, RollingWindow>;
  const cpuMs = Object.fromEntries(STAGES.map((k) => [k, new RollingWindow(512)])) as Record<Stage, RollingWindow>;
  let cnn = { wall: 0, cpu: 0 };
  const timedTrack = async (small: Frame) => {
    const c = cpuNow();
    const w = nowMs();
    const r = await track(small);
    cnn = { wall: nowMs() - w, cpu: cpuNow() - c };
    return r;
  };
  const stages = framedStages(framingStage(config, vision, () => glass), timedTrack, () => {});
  const stage = look ? tryOn : bare;
  let size = '';
  vision.tracker.reset();
  for (let n = 0; n < frames.length * 2; n++) {
    const frame = { ...frames[n % frames.length], capturedAt: nowMs() };
    const t = [nowMs()];
    const c = [cpuNow()];
    const mark = () => {
      t.push(nowMs());
      c.push(cpuNow());
    };
    const seen = await stages.vision(frame);
    mark();
    const shown = await stages.frame(frame, seen);
    mark();
    stage(shown.frame, shown.faces, shown.segmentation);
    mark();
    await encode(shown.frame);
    mark();
    // The people scan, due every peopleEvery frames, runs between frames as in the daemon (outside the stages).
    await stages.idle()?.();
    size = `${shown.frame.width}x${shown.frame.height}`;
    if (n < 10) continue;
    const push = (k: Stage, w: number, cpu: number) => {
      wall[k].push(w);
      cpuMs[k].push(cpu);
    };
    push('downscale', t[1] - t[0] - cnn.wall, c[1] - c[0] - cnn.cpu);
    push('cnn', cnn.wall, cnn.cpu);
    push('crop', t[2] - t[1], c[2] - c[1]);
    push('tryOn', t[3] - t[2], c[3] - c[2]);
    push('encode', t[4] - t[3], c[4] - c[3]);
    push('total', t[4] - t[0], c[4] - c[0]);
  }
  const cell = (k: Stage) => `${fmt(cpuMs[k].percentile(50))} / ${fmt(wall[k].percentile(50))}`;
  return [label, look ? 'default lipstick' : 'none', size, ...STAGES.map(cell), fmt(wall.total.percentile(95)), fmt(1000 / Math.max(1e-3, cpuMs.total.percentile(50)))];
}

const bare = createTryOnStage({ selection: () => ({ items: [], compare: null, chosen: true }), gate: createOcclusionGate, catalog: new CatalogSlot(), pin: config.tryon.pin });
const rows = [
  await backToBack('glass 1080x1920', true, null),
  await backToBack('glass 1080x1920', false, null),
  await backToBack('kiosk box 720x1280 (kiosk:display)', true, { width: 720, height: 1280 }),
];
printTable(
  `Framed pipeline per stage, back to back, p50 CPU ms / wall ms (the renderer is in try-on; downscale = the 360x640 CNN copy, ~0 when the capture child made it, crop = cut + colour; the 2 Hz people scan runs between frames, outside the stages, as in the daemon; reading frames from the capture child is outside the stages: the sustained CPU per frame includes it; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`,
  ['output for', 'look', 'emitted', 'downscale', 'CNNs', 'crop', 'try-on', 'JPEG', 'total', 'total wall p95', 'one-core fps at p50 CPU'],
  rows,
);
vision.dispose();
