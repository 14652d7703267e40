/**
 * Which landmark model serves: the plain face mesh (468 points) or the attention mesh (478: lips,
 * eyes and irises refined by its own crops, MediaPipe's model for lipstick try-on).
 *
 * `vision.mesh`: `plain` and `attention` pin one; `auto` (the default) loads both on their
 * autotuned backends (select.ts) and serves the attention mesh when its cost per face is at most
 * `vision.attentionMaxCost` times the plain mesh's. A ratio, not milliseconds, read as "refined
 * lips and eyes for at most N times the mesh's cost". Cost is CPU time per run on a CPU backend
 * (process.cpuUsage: a busy box inflates wall time by 10x and more and flips a wall-time ratio;
 * CPU time barely moves) and wall time on a GPU backend; both meshes are run in turn on the same
 * input. On the 2-core CPU reference the attention mesh costs ~1.75x: plain.
 * An attention mesh that cannot run on its backend (TF.js WASM lacks its int BatchMatMul) falls
 * back to the plain mesh, pinned or not, and the choice says why.
 *
 * The timings are cached per device (mesh-cost-cache.ts): a restart compares the cached costs
 * and serves the same mesh without re-timing; a mesh update, another backend or host re-times.
 */
import { fixedInput } from '../../models/fixed-input.ts';
import type { Logger } from '../core/logger.ts';
import { meshCostKey, readMeshCosts, writeMeshCosts } from './mesh-cost-cache.ts';
import { probeHost, type HostInfo } from './runtime/host.ts';
import type { LoadedModel } from './runtime/runtime.ts';

export const PLAIN_MESH = 'face-mesh';
export const ATTENTION_MESH = 'attention-mesh';
export type MeshMode = 'auto' | 'plain' | 'attention';

export interface MeshCost {
  /** Median wall ms per run. */
  wallMs: number;
  /** Mean CPU ms per run (this process, all threads). */
  cpuMs: number;
}

export interface MeshChoice {
  mode: MeshMode;
  /** The model serving: face-mesh or attention-mesh. */
  serving: string;
  /** Each mesh's measured cost (auto only), and which of the two the ratio used. */
  cost: Partial<Record<string, MeshCost>>;
  measure?: 'cpu' | 'wall';
  /** The most the attention mesh may cost, as a multiple of the plain mesh's time (auto). */
  maxCost: number;
  reason: string;
  /**
   * Where the choice came from: the config (pinned), a fallback (the attention mesh cannot run),
   * costs timed at this start, or costs cached from an earlier start on this device (auto).
   */
  source: 'config' | 'fallback' | 'timed' | 'cache';
  /** When the compared costs were measured (auto). */
  decidedAt?: string;
}

export interface MeshChoiceDeps {
  /** Loads a mesh model on its chosen backend (a committed update first). */
  load(name: string): Promise<LoadedModel>;
  logger: Logger;
  /** Where the auto choice's timings are cached (the daemon's state dir). */
  stateDir: string;
  /** The host the timings hold for (injectable: tests change it). */
  host?: Pick<HostInfo, 'cpuModel' | 'cores' | 'gpu'>;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const GPU_BACKEND = /^(onnx-(cuda|tensorrt)|tfjs-node-gpu)$/;

/** Each model's wall and CPU time per run on a fixed input, run by run in turn so load hits both alike. */
async function measureCosts(models: LoadedModel[], runs = 9): Promise<MeshCost[]> {
  const wall = models.map(() => [] as number[]);
  const cpu = models.map(() => 0);
  const inputs = models.map((m) => fixedInput(m.manifest.input.shape, m.manifest.input.range));
  for (let i = 0; i < runs + 2; i++) {
    for (const [k, model] of models.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await model.run(inputs[k], model.manifest.input.shape);
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (i < 2) continue;
      wall[k].push(t);
      cpu[k] += (c.user + c.system) / 1000;
    }
  }
  return models.map((_, k) => ({ wallMs: Math.round(median(wall[k]) * 1000) / 1000, cpuMs: Math.round((cpu[k] / runs) * 1000) / 1000 }));
}

/** One run to prove the model works on its backend; the error message when it does not. */
async function runsOn(model: LoadedModel): Promise<string | null> {
  const { shape, range } = model.manifest.input;
  try {
    await model.run(fixedInput(shape, range), shape);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

export async function chooseMesh(mode: MeshMode, maxCost: number, deps: MeshChoiceDeps): Promise<{ model: LoadedModel; choice: MeshChoice }> {
  const { load, logger } = deps;
  type Extra = Pick<MeshChoice, 'source'> & Partial<Pick<MeshChoice, 'measure' | 'decidedAt'>>;
  const choose = (model: LoadedModel, cost: MeshChoice['cost'], reason: string, extra: Extra) => {
    const choice: MeshChoice = { mode, serving: model.name, cost, maxCost, reason, ...extra };
    logger.info({ ...choice, backend: model.backend }, 'face mesh chosen');
    return { model, choice };
  };
  if (mode === 'plain') return choose(await load(PLAIN_MESH), {}, 'vision.mesh is "plain"', { source: 'config' });

  let attention: LoadedModel;
  try {
    attention = await load(ATTENTION_MESH);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'attention mesh does not load; serving the plain mesh');
    return choose(await load(PLAIN_MESH), {}, `the attention mesh does not load: ${(err as Error).message.split('\n')[0]}`, { source: 'fallback' });
  }
  const broken = await runsOn(attention);
  if (broken) {
    attention.dispose();
    logger.error({ backend: attention.backend, err: broken }, 'attention mesh does not run on its backend; serving the plain mesh');
    return choose(await load(PLAIN_MESH), {}, `the attention mesh does not run on ${attention.backend}: ${broken}`, { source: 'fallback' });
  }
  if (mode === 'attention') return choose(attention, {}, 'vision.mesh is "attention"', { source: 'config' });

  const plain = await load(PLAIN_MESH);
  const key = meshCostKey([attention, plain], deps.host ?? (await probeHost()));
  const cached = await readMeshCosts(deps.stateDir, key, logger);
  let timed: { cost: Record<string, MeshCost>; measure: 'cpu' | 'wall'; decidedAt: string };
  if (cached && cached.cost[ATTENTION_MESH] && cached.cost[PLAIN_MESH]) {
    timed = cached;
  } else {
    const [ta, tp] = await measureCosts([attention, plain]);
    const measure = GPU_BACKEND.test(attention.backend) || GPU_BACKEND.test(plain.backend) ? 'wall' : 'cpu';
    timed = { cost: { [ATTENTION_MESH]: ta, [PLAIN_MESH]: tp }, measure, decidedAt: new Date().toISOString() };
    await writeMeshCosts(deps.stateDir, { v: 1, key, ...timed }, logger);
  }
  const { cost, measure, decidedAt } = timed;
  const [a, p] = [cost[ATTENTION_MESH], cost[PLAIN_MESH]];
  const ratio = measure === 'wall' ? a.wallMs / p.wallMs : a.cpuMs / p.cpuMs;
  const why = `the attention mesh costs ${ratio.toFixed(2)}x the plain mesh in ${measure} time (${attention.backend} vs ${plain.backend})`;
  const extra: Extra = { source: timed === cached ? 'cache' : 'timed', measure, decidedAt };
  if (ratio <= maxCost) {
    plain.dispose();
    return choose(attention, cost, `${why} <= ${maxCost}x`, extra);
  }
  attention.dispose();
  return choose(plain, cost, `${why} > ${maxCost}x`, extra);
}
