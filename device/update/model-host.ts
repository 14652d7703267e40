/**
 * The daemon's side of model updates: loads a staged face-mesh model, smoke-tests it on golden
 * frames, swaps it into the live tracker (the pipeline keeps running: the next frame uses it) and
 * swaps back on rollback. The previous model stays loaded until commit, so a rollback is instant.
 * Vision is reached only through its MeshPort (vision-port.ts).
 */
import type { Logger } from '../core/logger.ts';
import type { HealthSample, ModelCandidate, ModelHost, SmokeResult } from './host.ts';
import type { ServingModel } from './store.ts';
import type { MeshModel, MeshPort } from './vision-port.ts';

export const MESH_MODEL = 'face-mesh';

export interface FaceMeshHostOptions {
  mesh: MeshPort;
  /** What serves now (from the committed pointer; null dir = the bundled model). */
  serving: ServingModel;
  health: () => HealthSample;
  logger: Logger;
}

interface LoadedCandidate extends ModelCandidate {
  model: MeshModel;
}

/** The ModelHost over the daemon's face stage. */
export function createFaceMeshHost(opts: FaceMeshHostOptions): ModelHost & { dispose(): void } {
  const { mesh, logger } = opts;
  let serving: ServingModel = { ...opts.serving, version: mesh.servingVersion() ?? opts.serving.version };
  /** The model that served before the switch, kept loaded until commit. */
  let previous: { model: MeshModel; serving: ServingModel } | null = null;
  // A frame may still be in a model just swapped out; release it on a later turn of the loop.
  const disposeSoon = (m: MeshModel): void => void setTimeout(() => m.dispose(), 1000).unref();

  const check = (name: string): void => {
    if (name !== MESH_MODEL) throw new Error(`model host: cannot update "${name}"`);
  };

  return {
    updatable: [MESH_MODEL],
    serving(name) {
      check(name);
      return serving;
    },
    async smokeTest(name, dir): Promise<SmokeResult> {
      check(name);
      let model: MeshModel;
      try {
        model = await mesh.load(dir);
      } catch (err) {
        return { ok: false, detail: `model does not load: ${(err as Error).message}`.slice(0, 500) };
      }
      let problem: string | null;
      try {
        problem = await mesh.smokeTest(model);
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
      check(name);
      const old = mesh.swap((candidate as LoadedCandidate).model);
      previous?.model.dispose();
      previous = { model: old, serving };
      serving = model;
      logger.info({ model: name, version: model.version, previous: previous.serving.version }, 'update: new model serving frames');
    },
    async revert(name, to) {
      check(name);
      const target: ServingModel = to ?? { version: 'bundled', dir: null };
      if (previous && (previous.serving.dir ?? null) === (target.dir ?? null)) {
        disposeSoon(mesh.swap(previous.model));
        serving = previous.serving;
        previous = null;
        logger.warn({ model: name, version: serving.version }, 'update: previous model serving again');
        return;
      }
      if ((serving.dir ?? null) === (target.dir ?? null)) return; // nothing was switched
      const model = await mesh.load(target.dir);
      disposeSoon(mesh.swap(model));
      serving = { ...target, version: model.version };
      logger.warn({ model: name, version: serving.version }, 'update: reverted model serving');
    },
    commit(name) {
      check(name);
      const p = previous;
      previous = null;
      if (p) disposeSoon(p.model);
    },
    health: opts.health,
    dispose() {
      previous?.model.dispose();
      previous = null;
    },
  };
}
