/**
 * npm run bench (part): renderer time per frame with a full look (foundation, concealer, contour,
 * blush, highlighter, eyeshadow, eyeliner, mascara, brows, lip liner, lipstick) on the demo clip at
 * 640x480 and 1280x720, per category and in total. The face stage runs first on each frame and is
 * excluded; what is timed is what the try-on stage does per frame: the occlusion gate, the render
 * context (light estimate, mask cache), each category's renderer (including the masks it is first
 * to ask for), and the stage end to end, each in CPU time (process.cpuUsage) and wall time. The
 * parts and the stage are timed in separate passes over the clip (see timeLook). The stage is also
 * timed without its SIMD kernels (tryon/simd: every loop in JavaScript) and with the issue's own
 * full look (nine products: this one less concealer and lip liner).
 * Budget (DESIGN.md): total ≤ 6 ms at 1280x720, judged on CPU time.
 * BENCH_ROUNDS sets the passes over the clip (default 2).
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { validateConfig } from '../config/load.ts';
import { nowMs, type Frame } from '../core/frame.ts';
import { RollingWindow } from '../core/pipeline-stats.ts';
import { DEMO_CLIP } from '../source/index.ts';
import { CatalogSlot } from '../tryon/catalog.ts';
import type { Category } from '../tryon/catalog/schema.ts';
import { FrameArena, withArena } from '../tryon/frame-arena.ts';
import { Kernels } from '../tryon/simd/kernels.ts';
import { createOcclusionGate, newGateScratch } from '../tryon/occlusion/index.ts';
import { createRenderContext } from '../tryon/render/context.ts';
import { newPaintScratch } from '../tryon/render/paint.ts';
import { RENDERERS } from '../tryon/render/registry.ts';
import { createTryOnStage, type TryOnStage } from '../tryon/tryon-stage.ts';
import type { Face } from '../vision/face.ts';
import { createFaceStage } from '../vision/face-stage.ts';
import { fullLook } from './full-look.ts';
import { printTable } from './table.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARM_UP = 10;
const BUDGET_720P_MS = 6;
const RESOLUTIONS = [
  [640, 480],
  [1280, 720],
] as const;
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m?: string) => console.error(m, o) };

const look = fullLook();
/** The issue's full look: lips, eyes, liner, lashes, brows, blush, contour, highlighter, foundation. */
const ISSUE_LOOK = look.filter((i) => i.product.category !== 'concealer' && i.product.category !== 'lipLiner');
const fmt = (v: number) => v.toFixed(2);

async function framesWithFaces(width: number, height: number, track: (f: Frame) => Promise<Face[]>): Promise<Array<{ data: Buffer; face: Face }>> {
  const files = (await readdir(DEMO_CLIP)).filter((f) => f.endsWith('.jpg')).sort();
  const out: Array<{ data: Buffer; face: Face }> = [];
  for (const [n, f] of files.entries()) {
    const data = await sharp(path.join(DEMO_CLIP, f)).removeAlpha().resize(width, height, { fit: 'cover' }).raw().toBuffer();
    const faces = await track({ id: n + 1, capturedAt: n * 33.3, width, height, format: 'rgb24', data });
    if (faces[0]) out.push({ data, face: faces[0] });
  }
  return out;
}

/** Mean of the CPU-time samples: under load the mean is the cost per frame (CPU time has no waiting in it to skew). */
class CpuTally {
  #sum = 0;
  #n = 0;
  push(ms: number): void {
    this.#sum += ms;
    this.#n++;
  }
  mean(): number {
    return this.#n ? this.#sum / this.#n : 0;
  }
}

interface Timings {
  parts: Map<string, RollingWindow>;
  /** The same parts in CPU time (process.cpuUsage): what the renderer costs, not what the machine's other work adds. */
  partsCpu: Map<string, CpuTally>;
  stage: RollingWindow;
  /** The stage's CPU time (process.cpuUsage): on a shared machine, wall time also counts waiting for a core. */
  stageCpu: CpuTally;
  /** The stage end to end in other configurations (row name → timings). */
  variants: Map<string, { time: RollingWindow; cpu: CpuTally }>;
  faces: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function timeLook(frames: Array<{ data: Buffer; face: Face }>, width: number, height: number): Timings {
  const keys = ['gate', 'context', ...look.map((i) => i.product.category), 'sum'];
  const parts = new Map<string, RollingWindow>(keys.map((k) => [k, new RollingWindow(4096)]));
  const partsCpu = new Map<string, CpuTally>(keys.map((k) => [k, new CpuTally()]));
  // One gate scratch and one frame arena (in SIMD kernels' memory) for the piece-by-piece runs, as the stage keeps its own.
  const scratch = newGateScratch();
  const arena = new FrameArena(new Kernels());
  const paintScratch = newPaintScratch();
  const stageTime = new RollingWindow(4096);
  const stageCpu = new CpuTally();
  const stage = createTryOnStage({ selection: () => ({ items: look, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() });
  const frameOf = (data: Buffer, id: number): Frame => ({ id, capturedAt: 0, width, height, format: 'rgb24', data: Buffer.from(data) });
  for (let n = 0; n < frames.length * ROUNDS; n++) {
    const { data, face } = frames[n % frames.length];
    const record = n >= WARM_UP;
    // Piece by piece, as the stage does it.
    const frame = frameOf(data, n + 1);
    let t = nowMs();
    let c = cpuMs();
    let sum = 0;
    let sumCpu = 0;
    const lap = (key: string) => {
      const now = nowMs();
      const cpu = cpuMs();
      if (record) {
        parts.get(key)!.push(now - t);
        partsCpu.get(key)!.push(cpu - c);
      }
      sum += now - t;
      sumCpu += cpu - c;
      t = now;
      c = cpu;
    };
    arena.reset();
    withArena(arena, () => {
      const gate = createOcclusionGate(frame, face, undefined, scratch);
      lap('gate');
      const ctx = createRenderContext(frame, face, gate, undefined, undefined, paintScratch);
      lap('context');
      for (const it of look) {
        RENDERERS.get(it.product.category)?.render(ctx, it);
        lap(it.product.category);
      }
    });
    if (record) {
      parts.get('sum')!.push(sum);
      partsCpu.get('sum')!.push(sumCpu);
    }
  }
  // End to end through the stage, in a pass of its own, as the daemon renders: one stage, one frame
  // after the other, not interleaved with the piece-by-piece pass and its own arena, gate and blend
  // scratch (the two working sets would share the cache). Beside it, the same stage without its SIMD
  // kernels (every loop in JavaScript) and with the issue's own full look, each frame through all
  // three in turn (the order rotating), so a drift in the machine's speed reaches all three alike.
  const variants = new Map<string, { time: RollingWindow; cpu: CpuTally }>([
    ['stage end to end, JavaScript only (no SIMD kernels)', { time: new RollingWindow(4096), cpu: new CpuTally() }],
    [`stage end to end, the issue's full look (${ISSUE_LOOK.length} products: no concealer, no lip liner)`, { time: new RollingWindow(4096), cpu: new CpuTally() }],
  ]);
  const [javascriptOnly, issueLook] = [...variants.values()];
  const runs: Array<[TryOnStage, { time: RollingWindow; cpu: CpuTally }]> = [
    [stage, { time: stageTime, cpu: stageCpu }],
    [createTryOnStage({ selection: () => ({ items: look, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot(), kernels: null }), javascriptOnly],
    [createTryOnStage({ selection: () => ({ items: ISSUE_LOOK, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() }), issueLook],
  ];
  for (let n = 0; n < frames.length * ROUNDS; n++) {
    const { data, face } = frames[n % frames.length];
    for (let k = 0; k < runs.length; k++) {
      const [run, into] = runs[(n + k) % runs.length];
      const whole = frameOf(data, n + 1);
      const t0 = nowMs();
      const c0 = cpuMs();
      run(whole, [face]);
      if (n >= WARM_UP) {
        into.time.push(nowMs() - t0);
        into.cpu.push(cpuMs() - c0);
      }
    }
  }
  return { parts, partsCpu, stage: stageTime, stageCpu, variants, faces: frames.length };
}

const config = validateConfig({});
const vision = await createFaceStage(config.vision, quiet, { stateDir: await mkdtemp(path.join(os.tmpdir(), 'mirror-render-bench-')) });
// Every frame is meshed first and the face stage disposed before anything is timed: CPU time is
// the process's, and the face stage's worker threads would otherwise be counted against the renderer.
const clips: Array<[number, number, Array<{ data: Buffer; face: Face }>]> = [];
for (const [width, height] of RESOLUTIONS) {
  vision.tracker.reset();
  clips.push([width, height, await framesWithFaces(width, height, async (f) => (await vision.tracker.process(f)).faces)]);
}
vision.dispose();
const results: Array<[string, Timings]> = clips.map(([width, height, frames]) => [`${width}x${height}`, timeLook(frames, width, height)]);

const keys = [...results[0][1].parts.keys()];
const header = ['part (ms per frame)', ...results.flatMap(([res]) => [`${res} CPU mean`, `${res} wall p50`, `${res} wall p95`])];
const rows = keys.map((k) => [
  k === 'sum' ? 'total (sum of parts)' : RENDERERS.has(k as Category) || k === 'gate' || k === 'context' ? k : `${k} (no renderer registered)`,
  ...results.flatMap(([, r]) => [
    fmt(r.partsCpu.get(k)!.mean()),
    fmt(r.parts.get(k)!.percentile(50)),
    fmt(r.parts.get(k)!.percentile(95)),
  ]),
]);
rows.push([
  'stage end to end',
  ...results.flatMap(([, r]) => [fmt(r.stageCpu.mean()), fmt(r.stage.percentile(50)), fmt(r.stage.percentile(95))]),
]);
for (const name of results[0][1].variants.keys())
  rows.push([
    name,
    ...results.flatMap(([, r]) => {
      const v = r.variants.get(name)!;
      return [fmt(v.cpu.mean()), fmt(v.time.percentile(50)), fmt(v.time.percentile(95))];
    }),
  ]);
printTable(
  `Renderer, full look on the demo clip (${results.map(([res, r]) => `${res}: ${r.faces} frames with a face`).join(', ')}; face stage excluded; ${ROUNDS} rounds)`,
  header,
  rows,
);
// Where a category's time goes is not only its own paint: the masks are built lazily, so the first
// category to ask for a region (or a region of a new occlusion family) pays for rasterising and gating it.
console.log(
  'A category\'s time includes the masks it is first to ask for and the occlusion gate\'s work for their family (skin: foundation; eyes: eyeshadow; lips: lip liner).',
);
// Judged on CPU time: on a shared machine wall time also counts waiting for a core.
const cpu720 = results[1][1].stageCpu.mean();
const load = os.loadavg()[0];
console.log(
  `\n1280x720 stage CPU ${fmt(cpu720)} ms per frame (wall p50 ${fmt(results[1][1].stage.percentile(50))} ms): ${cpu720 <= BUDGET_720P_MS ? 'within' : 'OVER'} the ${BUDGET_720P_MS} ms budget; load average ${load.toFixed(1)} on ${os.cpus().length} cores${load > os.cpus().length ? ' (machine busy: CPU time inflated by cache and core sharing, wall time by waiting)' : ''}`,
);
process.exit(0);
