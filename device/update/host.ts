/**
 * What the update agent needs from whatever serves an updatable artifact (the face mesh, the
 * catalog): stage it, load it and run the golden frames (smoke test), swap it in, swap back,
 * release the old one, and report health. The agent depends on this interface only.
 */
import type { Artifact, UpdateReason } from '../../fleet/protocol/update.ts';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import type { ServingModel } from './store.ts';

export interface ModelCandidate {
  readonly version: string;
  dispose(): void;
}

export type SmokeResult = { ok: true; candidate: ModelCandidate } | { ok: false; detail: string };

export interface HealthSample {
  /** Totals since the daemon started. */
  processedFrames: number;
  stageErrors: number;
  /** Recent frames per second. */
  fps: number;
}

export interface ModelHost {
  /** Model names this host can replace (e.g. ["face-mesh"]). */
  readonly updatable: readonly string[];
  /** The model serving `name` now. */
  serving(name: string): ServingModel;
  /** Loads the staged model (hashes, input contract) and runs the golden frames through it. */
  smokeTest(name: string, dir: string): Promise<SmokeResult>;
  /** Swaps the candidate into the live pipeline; the previous model stays loaded until commit. */
  activate(name: string, candidate: ModelCandidate, model: ServingModel): void;
  /** Serves `to` again (the kept previous model, or loads it; dir null = the bundled model). */
  revert(name: string, to: ServingModel | null): Promise<void>;
  /** Releases the previous model after a commit. */
  commit(name: string): void;
  health(): HealthSample;
  /**
   * Writes a verified (size, sha256, signature) artifact file into `dir`, a fresh directory the
   * agent then renames into place. Absent: the file is a model bundle (models/bundle.ts) and is
   * unpacked as a registry directory. Throws an UpdateError (MIRROR_ERR_UPDATE_STAGE, with its
   * reason) or any error (`bad-bundle`) when the artifact is intact but unusable; it is then
   * never tried again.
   */
  stage?(artifact: Artifact, file: string, dir: string): Promise<void>;
  /**
   * Present for what serves only from a fresh process (the application, app-host.ts), with
   * `restart`: makes the next boot start `model`, instead of `activate`. The agent then restarts
   * the daemon; the new process carries the job on from `active` (boot.ts resume, app-watch.ts).
   * `revert` of such a host likewise only makes the next boot start the previous one.
   */
  bootInto?(model: ServingModel): Promise<void>;
  /** Restarts the daemon when the next boot would start something else than runs now; called once the job's state is persisted. */
  restart?(): Promise<void>;
}

/** An intact artifact whose content is unusable (e.g. a catalog failing its schema); `reason` is reported. */
export class UpdateStageError extends MirrorError {
  constructor(
    readonly reason: UpdateReason,
    message: string,
  ) {
    super('MIRROR_ERR_UPDATE_STAGE', message);
    this.name = 'UpdateStageError';
  }
}
