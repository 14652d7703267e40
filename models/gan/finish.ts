/**
 * Does the refinement keep a finish drawn on purpose? For a lipstick shade with a light-adding
 * finish (gloss, shimmer, holographic...), the daemon's try-on stage renders the look twice on the
 * same held-out face: with the shade's own finish and with the same shade made matte. Their
 * luminance difference is the finish's signature (its highlights and glints), known without any
 * detector. `retained` = <refined − matte, signature> / <signature, signature> over the pixels
 * the finish brightened by more than `SIGNATURE_LEVELS`: 1 = the glints and gloss are all there,
 * 0 = toned down to a matte look.
 */
import type { GanModel } from '../../device/gan/gan-model.ts';
import { alignFace, warpPlaneToCrop, warpToCrop } from '../../device/gan/align.ts';
import { makeupCoverage, pasteWeight } from '../../device/gan/coverage.ts';
import { PASTE_RADIUS } from '../../device/gan/gan-stage.ts';
import { guardResidual } from '../../device/gan/residual-guard.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import type { PhotoFace } from './train/dataset.ts';
import { renderLook } from './train/dataset.ts';

/** A brightening of this many levels by the finish counts as its signature. */
export const SIGNATURE_LEVELS = 3;

export interface FinishRetention {
  face: string;
  shade: string;
  finish: string;
  /** Pixels of the signature. */
  pixels: number;
  /** The model's own refinement pasted as is. */
  raw: number;
  /** What the device pastes (after device/gan/residual-guard.ts). */
  guarded: number;
}

const luma = (img: ArrayLike<number>, i: number) => 0.299 * img[i * 3] + 0.587 * img[i * 3 + 1] + 0.114 * img[i * 3 + 2];

export async function finishRetention(model: GanModel, faces: readonly PhotoFace[], shades: ReadonlyArray<readonly [productId: string, shadeId: string]>): Promise<FinishRetention[]> {
  const size = model.size;
  const catalog = bundledCatalog();
  const out: FinishRetention[] = [];
  for (const pf of faces) {
    const t = alignFace(pf.face.landmarks, size);
    const bare = warpToCrop(pf.image, t, size);
    for (const [productId, shadeId] of shades) {
      const product = catalog.products.find((p) => p.id === productId);
      const shade = product?.shades.find((s) => s.id === shadeId);
      if (!product || !shade) throw new Error(`no shade ${productId}/${shadeId} in the bundled catalog`);
      const look = renderLook(pf.image.data, pf.image.width, pf.image.height, pf.face, [{ product, shade, intensity: 1 }]);
      const finished = warpToCrop(look.frame, t, size);
      const light = warpPlaneToCrop(look.light, pf.image.width, pf.image.height, t, size);
      const matte = warpToCrop(renderLook(pf.image.data, pf.image.width, pf.image.height, pf.face, [{ product, shade: { ...shade, finish: 'matte' }, intensity: 1 }]).frame, t, size);
      const coverage = makeupCoverage(bare, finished, size);
      const raw = await model.refine(bare, finished, coverage);
      const guarded = guardResidual(raw, finished, coverage, pasteWeight(coverage, size, PASTE_RADIUS), size, light).residual;
      const score = (residual: Float32Array) => {
        let dot = 0;
        let ss = 0;
        let pixels = 0;
        for (let i = 0; i < size * size; i++) {
          const sig = luma(finished, i) - luma(matte, i);
          if (sig <= SIGNATURE_LEVELS) continue;
          const refined = [0, 1, 2].map((c) => Math.min(255, Math.max(0, Math.round(finished[i * 3 + c] + residual[i * 3 + c]))));
          dot += sig * (luma(refined, 0) - luma(matte, i));
          ss += sig * sig;
          pixels++;
        }
        return { retained: ss > 0 ? dot / ss : NaN, pixels };
      };
      const r = score(raw);
      out.push({ face: pf.id, shade: `${productId}/${shadeId}`, finish: shade.finish, pixels: r.pixels, raw: r.retained, guarded: score(guarded).retained });
    }
  }
  return out;
}
