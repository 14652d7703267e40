/**
 * The colour profile as the daemon applies it: every frame is corrected in place before anything
 * reads it (see calibration/colour/apply.ts for why there), so the skin analysis reads true
 * colours and the renderer's true-sRGB catalog colours land on a true-colour face.
 *
 * What serves: the profile the fleet pushed and the update agent committed (kind
 * "colour-profile", calibration/colour/document.ts), else the local file `calibrate color` wrote
 * (config.calibration.colourProfile, or `<stateDir>/calibration/colour-profile.json`). A local file
 * that does not validate is refused, listed on the degradation ladder while nothing else serves,
 * and the mirror runs uncorrected. The serving profile is one reference (`ServingProfile`: the
 * profile and its corrector's tables, built once), swapped whole when an update activates or rolls
 * back: the next frame is corrected by the new one. /healthz and telemetry show what serves.
 */
import path from 'node:path';
import { createColourCorrector, type ColourCorrector } from '../../calibration/colour/apply.ts';
import { COLOUR_PROFILE_DOCUMENT } from '../../calibration/colour/document.ts';
import { loadProfile, PROFILE_FILE, type ColourProfile } from '../../calibration/colour/profile.ts';
import type { MirrorConfig } from '../config/schema.ts';
import type { DegradationLadder } from '../core/degraded.ts';
import type { Frame } from '../core/frame.ts';
import type { Logger } from '../core/logger.ts';
import { loadCommittedDocument, type DocumentSlot } from '../update/document-host.ts';
import type { ServingModel } from '../update/store.ts';

/** A profile ready to apply: where it came from, and its corrector (tables built once). */
export interface ServingProfile {
  profile: ColourProfile;
  corrector: ColourCorrector;
  /** The committed fleet artifact's id; absent: the local file. */
  artifactId?: string;
}

export interface ColourTelemetry {
  version: string;
  cameraId: string;
  createdAt: string;
  artifactId: string | null;
}

export interface ColourStage {
  /** Corrects the frame's pixels in place (nothing when no profile serves). */
  correct(frame: Frame): void;
  /** The serving profile's version, or null. */
  version(): string | null;
  /** For /healthz. */
  summary(): Record<string, unknown>;
  /** For the metrics message (null: no profile serves). */
  telemetry(): ColourTelemetry | null;
  /** What the update agent swaps (the document host's slot). */
  readonly documentSlot: DocumentSlot<ColourProfile, ServingProfile | null>;
  /** What serves, as the update agent knows it. */
  readonly serving: ServingModel;
}

const serve = (profile: ColourProfile, artifactId?: string): ServingProfile => ({ profile, corrector: createColourCorrector(profile), ...(artifactId ? { artifactId } : {}) });

/** The local profile file: null when there is none, or the reason it is refused. */
async function loadLocal(file: string, configured: boolean): Promise<{ profile: ColourProfile | null; error: string | null }> {
  try {
    const profile = await loadProfile(file);
    if (!profile && configured) throw new Error(`calibration.colourProfile ${file} does not exist`);
    return { profile, error: null };
  } catch (err) {
    return { profile: null, error: (err as Error).message };
  }
}

/**
 * `committed`: the colour-profile artifact the update store's pointer names (null: none), after the
 * boot check (device/daemon/update-boot.ts).
 */
export async function startColour(config: MirrorConfig, ladder: DegradationLadder, logger: Logger, committed: ServingModel | null = null): Promise<ColourStage> {
  const configured = config.calibration.colourProfile;
  const file = path.resolve(configured ?? path.join(config.stateDir, PROFILE_FILE));
  const local = await loadLocal(file, configured !== undefined);
  const localServing = local.profile ? serve(local.profile) : null;
  const fallbackModel: ServingModel = { version: local.profile?.version ?? 'none', dir: null };
  let current: ServingProfile | null = null;

  const show = (next: ServingProfile | null): void => {
    current = next;
    if (next || !local.error) ladder.clear('calibration');
    else ladder.set('calibration', `colour profile not applied: ${local.error}`);
  };
  const documentSlot: DocumentSlot<ColourProfile, ServingProfile | null> = {
    swap(next) {
      const old = current;
      show(next);
      logger.info({ version: next?.profile.version ?? null, artifactId: next?.artifactId ?? null }, next ? 'colour profile now applied to every frame' : 'no colour profile: frames are not colour-corrected');
      return old;
    },
    serve: (profile, model) => serve(profile, model.artifactId),
    fallback: () => ({ serving: localServing, model: fallbackModel }),
  };

  if (local.error) logger.error({ err: local.error, file }, 'local colour profile not applied');
  const boot = await loadCommittedDocument(COLOUR_PROFILE_DOCUMENT, documentSlot, committed, logger);
  if (boot.serving && localServing && boot.serving.artifactId && local.profile!.createdAt > boot.serving.profile.createdAt) {
    logger.warn({ file, local: local.profile!.version, fleet: boot.serving.profile.version }, 'the local colour profile is newer than the one the fleet pushed, which serves: push the new one');
  }
  show(boot.serving);
  if (current) {
    const p = (current as ServingProfile).profile;
    logger.info({ source: boot.serving?.artifactId ?? file, version: p.version, cameraId: p.cameraId, method: p.method, deltaE: p.fit.after }, 'colour profile applied to every frame');
  }

  return {
    correct(frame) {
      current?.corrector.apply(frame.data);
    },
    version: () => current?.profile.version ?? null,
    telemetry: () => current && { version: current.profile.version, cameraId: current.profile.cameraId, createdAt: current.profile.createdAt, artifactId: current.artifactId ?? null },
    summary() {
      if (!current) return { applied: false, file, error: local.error };
      const p = current.profile;
      return {
        applied: true,
        source: current.artifactId ? 'fleet' : 'file',
        ...(current.artifactId ? { artifactId: current.artifactId } : { file }),
        version: p.version,
        cameraId: p.cameraId,
        createdAt: p.createdAt,
        method: p.method,
        whiteBalance: p.whiteBalance,
        deltaE2000: { before: p.fit.before, after: p.fit.after },
      };
    },
    documentSlot,
    serving: boot.model,
  };
}
