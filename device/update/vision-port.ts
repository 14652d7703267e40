/**
 * What the update hosts need from vision, and nothing more: load a candidate mesh, run it on the
 * golden frames, swap it into the live tracker, and the golden faces a catalog renders on.
 * device/vision/update-port.ts implements it over the daemon's face stage; update/ depends on
 * this interface only (never on the detector, tracker, runtime or stage themselves).
 */
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';

/** A loaded mesh model, opaque to update/. */
export interface MeshModel {
  readonly version: string;
  dispose(): void;
}

export interface MeshPort {
  /** The version of the mesh serving frames now, if the stage knows it. */
  servingVersion(): string | undefined;
  /** Loads the mesh of a staged registry directory (`<dir>/manifests`), or the bundled one (null). */
  load(dir: string | null): Promise<MeshModel>;
  /** Runs the golden frames through `mesh`: the first problem, or null when it passes. */
  smokeTest(mesh: MeshModel): Promise<string | null>;
  /** Puts `mesh` into the live tracker (the next frame uses it); returns the one it replaced, still loaded. */
  swap(mesh: MeshModel): MeshModel;
}

/** A golden frame and the shopper's face on it (what a catalog's products are rendered on). */
export interface GoldenFace {
  image: RgbImage;
  face: Face;
}
