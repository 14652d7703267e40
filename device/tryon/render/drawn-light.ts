/**
 * The light the finishes draw, for a reader that must tell it from the surface (the GAN stage,
 * device/gan: a refinement may add texture but must leave the gloss and glints as drawn). While
 * `plane` is set (frame-sized, cleared by the reader), paint.ts's specular term and sparkle.ts's
 * glints add the linear-light luminance they put on each frame pixel (after coverage). Unset (the
 * default), nothing is recorded and the renderers pay one null check per painted region.
 */
export const drawnLight: { plane: Float32Array | null } = { plane: null };
