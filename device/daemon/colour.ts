/**
 * The colour profile as the daemon applies it: loaded once at start (validated; a bad one is
 * refused, listed on the degradation ladder and the mirror runs uncorrected), then every frame
 * is corrected in place before the vision stage reads it (see calibration/colour/apply.ts for why
 * there). /healthz shows what serves; the models map carries its version to the fleet.
 */
import path from 'node:path';
import { createColourCorrector, type ColourCorrector } from '../../calibration/colour/apply.ts';
import { loadProfile, PROFILE_FILE, type ColourProfile } from '../../calibration/colour/profile.ts';
import type { MirrorConfig } from '../config/schema.ts';
import type { DegradationLadder } from '../core/degraded.ts';
import type { Frame } from '../core/frame.ts';
import type { Logger } from '../core/logger.ts';

export interface ColourStage {
  /** Corrects the frame's pixels in place (nothing when no profile serves). */
  correct(frame: Frame): void;
  /** The serving profile's version, or null. */
  version(): string | null;
  /** For /healthz. */
  summary(): Record<string, unknown>;
}

export async function startColour(config: MirrorConfig, ladder: DegradationLadder, logger: Logger): Promise<ColourStage> {
  const configured = config.calibration.colourProfile;
  const file = path.resolve(configured ?? path.join(config.stateDir, PROFILE_FILE));
  let profile: ColourProfile | null = null;
  let corrector: ColourCorrector | null = null;
  let error: string | null = null;
  try {
    profile = await loadProfile(file);
    if (!profile && configured) throw new Error(`calibration.colourProfile ${file} does not exist`);
    if (profile) corrector = createColourCorrector(profile);
  } catch (err) {
    profile = null;
    error = (err as Error).message;
    ladder.set('calibration', `colour profile not applied: ${error}`);
    logger.error({ err: error, file }, 'colour profile not applied; frames are not colour-corrected');
  }
  if (profile) logger.info({ file, version: profile.version, cameraId: profile.cameraId, method: profile.method, deltaE: profile.fit.after }, 'colour profile applied to every frame');
  return {
    correct(frame) {
      corrector?.apply(frame.data);
    },
    version: () => profile?.version ?? null,
    summary: () =>
      profile
        ? {
            applied: true,
            file,
            version: profile.version,
            cameraId: profile.cameraId,
            createdAt: profile.createdAt,
            method: profile.method,
            whiteBalance: profile.whiteBalance,
            deltaE2000: { before: profile.fit.before, after: profile.fit.after },
          }
        : { applied: false, file, error },
  };
}
