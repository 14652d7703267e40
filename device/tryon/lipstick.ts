/**
 * First lipstick renderer: a satin shade on the lips from the mesh. The mask is the `lips` region
 * mask (region-masks.ts): the outer lip loop minus the mouth opening (teeth and tongue stay
 * unpainted), feathered in proportion to the face so it hides the mesh's few-pixel error.
 * The shade keeps the lips' own shading: each pixel takes the product colour scaled by how much
 * lighter or darker it is than the lips' mean, in linear light.
 */
import type { Frame } from '../core/frame.ts';
import type { Face } from '../vision/face.ts';
import { SRGB_TO_LINEAR, hexToLinear, linearToSrgb, luminance } from './colour.ts';
import { regionMask } from './region-masks.ts';
import type { OcclusionGate } from './render/renderer.ts';

export interface LipstickShade {
  productId: string;
  colour: string;
  /** 0..1, how much of the shade covers the natural lip colour. */
  opacity: number;
}

/** `gate` (built before anything painted this frame) removes teeth, tongue and fingers from the mask. */
export function renderLipstick(frame: Frame, face: Face, shade: LipstickShade, gate?: OcclusionGate): boolean {
  const mask = regionMask(face.landmarks, 'lips', frame);
  if (!mask) return false;
  gate?.apply('lips', mask);
  const { rect, alpha } = mask;

  const { data, width } = frame;
  // Mean luminance of the lips, weighted by the mask: the reference the shading is kept against.
  let weightSum = 0;
  let lumSum = 0;
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const w = alpha[y * rect.width + x];
      if (w <= 0.01) continue;
      const p = ((rect.y + y) * width + rect.x + x) * 3;
      lumSum += w * luminance(SRGB_TO_LINEAR[data[p]], SRGB_TO_LINEAR[data[p + 1]], SRGB_TO_LINEAR[data[p + 2]]);
      weightSum += w;
    }
  }
  if (weightSum < 1) return false;
  const meanLum = Math.max(1e-4, lumSum / weightSum);
  const [cr, cg, cb] = hexToLinear(shade.colour);

  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const w = alpha[y * rect.width + x] * shade.opacity;
      if (w <= 0.003) continue;
      const p = ((rect.y + y) * width + rect.x + x) * 3;
      const r = SRGB_TO_LINEAR[data[p]];
      const g = SRGB_TO_LINEAR[data[p + 1]];
      const bl = SRGB_TO_LINEAR[data[p + 2]];
      // Shading ratio, softened so deep creases do not go black and highlights do not clip.
      const shadingRatio = Math.min(2.2, (luminance(r, g, bl) / meanLum) ** 0.85);
      data[p] = linearToSrgb(r + w * (cr * shadingRatio - r));
      data[p + 1] = linearToSrgb(g + w * (cg * shadingRatio - g));
      data[p + 2] = linearToSrgb(bl + w * (cb * shadingRatio - bl));
    }
  }
  return true;
}
