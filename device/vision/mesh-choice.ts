/**
 * Which landmark model serves: the plain face mesh (468 points) or the attention mesh (478: lips,
 * eyes and irises refined by its own crops, MediaPipe's model for lipstick try-on).
 *
 * `vision.mesh`: `plain` and `attention` pin one; `auto` (the default) loads both on their
 * autotuned backends (select.ts: timed once per host, cached) and serves the attention mesh when
 * its time per face is at most `vision.attentionMaxCost` times the plain mesh's. A ratio, not
 * milliseconds: both are timed interleaved under the same load, so a busy box does not flip the
 * choice, and the rule reads as "refined lips and eyes for at most N times the mesh's cost" (on
 * the 2-core CPU reference the attention mesh costs ~1.7x: plain; on a GPU its crops are cheap).
 * An attention mesh that cannot run on its backend (TF.js WASM lacks its int BatchMatMul) falls
 * back to the plain mesh, pinned or not, and the choice says why.
 */
import { fixedInput } from '../../models/fixed-input.ts';
import type { Logger } from '../core/logger.ts';
import type { LoadedModel } from './runtime/runtime.ts';

export const PLAIN_MESH = 'face-mesh';
export const ATTENTION_MESH = 'attention-mesh';
export type MeshMode = 'auto' | 'plain' | 'attention';

export interface MeshChoice {
  mode: MeshMode;
  /** The model serving: face-mesh or attention-mesh. */
  serving: string;
  /** Median ms per run of each mesh timed for the choice (absent when not timed). */
  msPerRun: Partial<Record<string, number>>;
  /** The most the attention mesh may cost, as a multiple of the plain mesh's time (auto). */
  maxCost: number;
  reason: string;
}

export interface MeshChoiceDeps {
  /** Loads a mesh model on its chosen backend (a committed update first). */
  load(name: string): Promise<LoadedModel>;
  /** The autotune's median ms per run for `name`, or null when it was not timed (pinned backend, update). */
  timedMs(name: string): number | null;
  logger: Logger;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * Median ms per run of each model on a fixed input, run by run in turn so background load hits
 * both alike (the choice's own timing when the autotune did not time them: pinned backend, update).
 */
async function timeInterleaved(models: LoadedModel[], runs = 9): Promise<number[]> {
  const times = models.map(() => [] as number[]);
  for (let i = 0; i < runs + 2; i++) {
    for (const [k, model] of models.entries()) {
      const { shape, range } = model.manifest.input;
      const input = fixedInput(shape, range);
      const t0 = performance.now();
      await model.run(input, shape);
      if (i >= 2) times[k].push(performance.now() - t0);
    }
  }
  return times.map(median);
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
  const choose = (model: LoadedModel, msPerRun: MeshChoice['msPerRun'], reason: string) => {
    const choice: MeshChoice = { mode, serving: model.name, msPerRun, maxCost, reason };
    logger.info({ ...choice, backend: model.backend }, 'face mesh chosen');
    return { model, choice };
  };
  if (mode === 'plain') return choose(await load(PLAIN_MESH), {}, 'vision.mesh is "plain"');

  let attention: LoadedModel;
  try {
    attention = await load(ATTENTION_MESH);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'attention mesh does not load; serving the plain mesh');
    return choose(await load(PLAIN_MESH), {}, `the attention mesh does not load: ${(err as Error).message.split('\n')[0]}`);
  }
  const broken = await runsOn(attention);
  if (broken) {
    attention.dispose();
    logger.error({ backend: attention.backend, err: broken }, 'attention mesh does not run on its backend; serving the plain mesh');
    return choose(await load(PLAIN_MESH), {}, `the attention mesh does not run on ${attention.backend}: ${broken}`);
  }
  if (mode === 'attention') return choose(attention, {}, 'vision.mesh is "attention"');

  const plain = await load(PLAIN_MESH);
  const tuned = [deps.timedMs(ATTENTION_MESH), deps.timedMs(PLAIN_MESH)];
  const [attentionMs, plainMs] = tuned[0] !== null && tuned[1] !== null ? (tuned as number[]) : await timeInterleaved([attention, plain]);
  const msPerRun = { [ATTENTION_MESH]: attentionMs, [PLAIN_MESH]: plainMs };
  const cost = attentionMs / plainMs;
  if (cost <= maxCost) {
    plain.dispose();
    return choose(attention, msPerRun, `the attention mesh costs ${cost.toFixed(2)}x the plain mesh (<= ${maxCost}x)`);
  }
  attention.dispose();
  return choose(plain, msPerRun, `the attention mesh costs ${cost.toFixed(2)}x the plain mesh (> ${maxCost}x)`);
}
