/**
 * What the update hosts need from vision, and nothing more: load a candidate model (detector,
 * mesh, iris, segmentation), run its smoke test on the golden frames, swap it into the live
 * stage, and the golden faces a catalog renders on. device/vision/update-port.ts implements it
 * over the daemon's face stage; update/ depends on this interface only (never on the detector,
 * tracker, runtime or stage themselves).
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';

/** A loaded vision model, opaque to update/. */
export interface VisionModel {
  readonly version: string;
  dispose(): void;
}

export interface VisionPort {
  /** Model names this mirror can replace over the air (the ones its stage runs). */
  readonly updatable: readonly string[];
  /** The version of model `name` serving frames now, if the stage knows it. */
  servingVersion(name: string): string | undefined;
  /** Loads model `name` from a staged registry directory (`<dir>/manifests`), or the bundled one (null). */
  load(name: string, dir: string | null): Promise<VisionModel>;
  /** Runs the golden frames through `model` (the smoke test of its kind): the first problem, or null when it passes. */
  smokeTest(name: string, model: VisionModel): Promise<string | null>;
  /**
   * Puts `model` into the live stage (the next frame uses it); returns the one it replaced, still
   * loaded, or null when none was loaded (a model the stage loads on demand).
   */
  swap(name: string, model: VisionModel): VisionModel | null;
}

/** A golden frame and the shopper's face on it (what a catalog's products are rendered on). */
export interface GoldenFace {
  image: RgbImage;
  face: Face;
}
