/**
 * The light the finishes draw, for a reader that must tell it from the surface (the GAN stage,
 * device/gan: a refinement may add texture but must leave the gloss and glints as drawn). The reader
 * owns a recorder and hands it to its try-on stage (TryOnStageDeps.drawnLight); while `plane` is set
 * (frame-sized, cleared by the reader), paint.ts's specular term and sparkle.ts's glints add the
 * linear-light luminance they put on each frame pixel (after coverage). Unset, nothing is recorded
 * and the renderers pay one null check per painted region.
 */
export interface DrawnLight {
  plane: Float32Array | null;
}

export const newDrawnLight = (): DrawnLight => ({ plane: null });
