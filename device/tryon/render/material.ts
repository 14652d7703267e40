/**
 * The seven finishes as material parameters, shared by every category (lips, lids, cheeks): how
 * much of the surface's own shading stays, how its highlights are treated, how much of its own
 * colour variation shows through, and what light the product itself adds (specular, sparkle).
 * paint.ts reads the diffuse and specular terms, sparkle.ts the sparkle terms. On a flat, evenly lit
 * patch the diffuse colour of every finish is the shade itself (the colour-accuracy contract).
 */
import type { Finish } from '../catalog/schema.ts';

export interface Material {
  /** Exponent on the pixel's luminance detail ratio (pixel / region mean): 1 keeps the shading, < 1 flattens it, > 1 deepens it. */
  detail: number;
  /** How much of the detail ratio above 1 (the surface's own highlights) survives: 0 flattens them (matte), 1 keeps them. */
  highlights: number;
  /** Share of the surface's own colour variation (its chroma around the region mean) let through the shade: sheer shows the lip. */
  through: number;
  /** Specular strength, relative to how far the face's own highlights rise above its median (LightEstimate). 0 = none. */
  specular: number;
  /** 0 = white highlight (a clear coat: gloss), 1 = highlight tinted by the shade (metal). */
  specularTint: number;
  /** Width of the directional highlight lobe as a fraction of the region's half-size (small = tight, wet). */
  specularSpread: number;
  /** How strongly the highlight follows the pixel's own brightness above the region mean (where the camera sees shine). */
  specularFromBrightness: number;
  /** Sparkles per square inter-ocular distance of region (0 = none). */
  sparkleDensity: number;
  /** Sparkle peak, relative to the face's own highlight luminance. */
  sparkleStrength: number;
  /** Sparkle colour: 0 = white/shade, 1 = each sparkle its own hue (holographic). */
  iridescence: number;
}

const BASE: Material = {
  detail: 0.85,
  highlights: 1,
  through: 0,
  specular: 0,
  specularTint: 0,
  specularSpread: 0.5,
  specularFromBrightness: 0,
  sparkleDensity: 0,
  sparkleStrength: 0,
  iridescence: 0,
};

export const MATERIALS: Readonly<Record<Finish, Readonly<Material>>> = {
  // Powdery: shading softened, the surface's own shine flattened, no light added.
  matte: { ...BASE, detail: 0.7, highlights: 0.2 },
  // A soft sheen: shading kept, a faint broad highlight.
  satin: { ...BASE, detail: 0.85, highlights: 0.8, specular: 0.3, specularSpread: 0.7, specularFromBrightness: 0.6 },
  // A stain: the lip's own texture and colour variation show through.
  sheer: { ...BASE, detail: 1, highlights: 1, through: 0.6 },
  // Clear wet coat: full shading, a tight white highlight where the face's light hits and the camera sees shine.
  gloss: { ...BASE, detail: 1, highlights: 1, specular: 2.2, specularSpread: 0.35, specularFromBrightness: 1 },
  // Metal: deeper shading and a broad shade-tinted highlight.
  metallic: { ...BASE, detail: 1.25, highlights: 1, specular: 1.2, specularTint: 0.85, specularSpread: 0.55, specularFromBrightness: 0.8 },
  // Fine glitter in a satin base.
  shimmer: { ...BASE, detail: 0.9, highlights: 0.9, specular: 0.25, specularSpread: 0.6, specularFromBrightness: 0.5, sparkleDensity: 700, sparkleStrength: 0.9 },
  // Multichrome glitter: each sparkle its own hue, a little shine.
  holographic: {
    ...BASE,
    detail: 0.95,
    highlights: 1,
    specular: 0.5,
    specularSpread: 0.5,
    specularFromBrightness: 0.7,
    sparkleDensity: 500,
    sparkleStrength: 1.1,
    iridescence: 1,
  },
};

/**
 * The finish as pigment on hair (drawn lashes, brow strokes): the pigment's own tone, so the skin
 * behind a stroke does not show through as texture. Built once (paint.ts caches tone curves per
 * material object).
 */
export const PIGMENT_MATERIALS: Readonly<Record<Finish, Readonly<Material>>> = Object.fromEntries(
  Object.entries(MATERIALS).map(([finish, m]) => [finish, { ...m, detail: m.detail * 0.4 }]),
) as Record<Finish, Material>;
