/**
 * The daemon's side of model updates, for every vision model the stage runs (detector, mesh,
 * iris, segmentation): loads a staged model, runs its smoke test on golden frames, swaps it into
 * the live stage (the pipeline keeps running: the next frame uses it) and swaps back on rollback.
 * The previous model stays loaded until commit, so a rollback is instant. Vision is reached only
 * through its VisionPort (vision-port.ts).
 */
import type { Logger } from '../core/logger.ts';
import type { HealthSample, ModelCandidate, ModelHost, SmokeResult } from './host.ts';
import type { ServingModel } from './store.ts';
import type { VisionModel, VisionPort } from './vision-port.ts';

export const MESH_MODEL = 'face-mesh';
/** Every model a vision stage may run, so may be updated over the air (the stage says which it runs). */
export const VISION_MODELS = ['face-detector', MESH_MODEL, 'attention-mesh', 'iris', 'segmentation', 'segmentation-meet'] as const;

export interface VisionModelHostOptions {
  vision: VisionPort;
  /** What serves now per model (from the committed pointers; null dir = the bundled model). */
  serving: Record<string, ServingModel>;
  health: () => HealthSample;
  logger: Logger;
}

interface LoadedCandidate extends ModelCandidate {
  model: VisionModel;
}

/** The ModelHost over the daemon's face stage. */
export function createVisionModelHost(opts: VisionModelHostOptions): ModelHost & { dispose(): void } {
  const { vision, logger } = opts;
  const serving = new Map<string, ServingModel>();
  for (const name of vision.updatable) {
    const s = opts.serving[name] ?? { version: 'bundled', dir: null };
    serving.set(name, { ...s, version: vision.servingVersion(name) ?? s.version });
  }
  /** Per model, the one that served before the switch, kept loaded until commit (null: none was loaded). */
  const previous = new Map<string, { model: VisionModel | null; serving: ServingModel }>();
  // A frame may still be in a model just swapped out; release it on a later turn of the loop.
  const disposeSoon = (m: VisionModel | null): void => void (m && setTimeout(() => m.dispose(), 1000).unref());

  const servingOf = (name: string): ServingModel => {
    const s = serving.get(name);
    if (!s) throw new Error(`model host: cannot update "${name}" (this mirror updates ${vision.updatable.join(', ')})`);
    return s;
  };

  return {
    updatable: vision.updatable,
    serving: servingOf,
    async smokeTest(name, dir): Promise<SmokeResult> {
      servingOf(name);
      let model: VisionModel;
      try {
        model = await vision.load(name, dir);
      } catch (err) {
        return { ok: false, detail: `model does not load: ${(err as Error).message}`.slice(0, 500) };
      }
      let problem: string | null;
      try {
        problem = await vision.smokeTest(name, model);
      } catch (err) {
        problem = `smoke test could not run: ${(err as Error).message}`;
      }
      if (problem) {
        model.dispose();
        return { ok: false, detail: problem };
      }
      const candidate: LoadedCandidate = { version: model.version, model, dispose: () => model.dispose() };
      return { ok: true, candidate };
    },
    activate(name, candidate, model) {
      const before = servingOf(name);
      const old = vision.swap(name, (candidate as LoadedCandidate).model);
      previous.get(name)?.model?.dispose();
      previous.set(name, { model: old, serving: before });
      serving.set(name, model);
      logger.info({ model: name, version: model.version, previous: before.version }, 'update: new model serving frames');
    },
    async revert(name, to) {
      const current = servingOf(name);
      const target: ServingModel = to ?? { version: 'bundled', dir: null };
      const kept = previous.get(name);
      if (kept?.model && (kept.serving.dir ?? null) === (target.dir ?? null)) {
        disposeSoon(vision.swap(name, kept.model));
        serving.set(name, kept.serving);
        previous.delete(name);
        logger.warn({ model: name, version: kept.serving.version }, 'update: previous model serving again');
        return;
      }
      if (!kept && (current.dir ?? null) === (target.dir ?? null)) return; // nothing was switched
      const model = await vision.load(name, target.dir);
      disposeSoon(vision.swap(name, model));
      previous.delete(name);
      serving.set(name, { ...target, version: model.version });
      logger.warn({ model: name, version: model.version }, 'update: reverted model serving');
    },
    commit(name) {
      const p = previous.get(name);
      previous.delete(name);
      if (p) disposeSoon(p.model);
    },
    health: opts.health,
    dispose() {
      for (const p of previous.values()) p.model?.dispose();
      previous.clear();
    },
  };
}
