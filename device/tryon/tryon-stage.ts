/**
 * The try-on stage: draws the shopper's selection onto the shopper (faces[0], the nearest face)
 * only; bystanders are never rendered.
 *
 * Per frame: the selection (deps.selection(), fed by the shopper's session; empty = the serving
 * catalog's `default`, read once per frame so a committed catalog update shows from the next
 * frame), the occlusion gate built from the camera's pixels BEFORE anything is painted, one
 * RenderContext (masks rasterised and gated once, the face's light), then each item's renderer in
 * CATEGORIES order (skin first, lips and hair last). Returns the ids of the products drawn.
 *
 * Before/after: `compare = s` keeps the shopper bare on the left s of the DISPLAYED image. The
 * kiosk mirrors the frame, so that is the frame's right side: those columns are copied before
 * rendering and put back after, byte for byte. s = 1 draws nothing.
 *
 * Per-frame buffers (masks, gates, blurs) are taken from the stage's FrameArena, reused frame
 * after frame, so rendering allocates (almost) nothing once the first frames have been seen. The
 * arena lies in the stage's SIMD kernels' memory (simd/kernels.ts), where the kernels read it.
 */
import type { FaceShape } from '../advisor/face-shape.ts';
import type { Frame } from '../core/frame.ts';
import type { Face } from '../vision/face.ts';
import type { PersonMask } from '../vision/segmentation.ts';
import { initialItems, type CatalogSlot } from './catalog.ts';
import type { TryOnPin } from './catalog/pin.ts';
import { CATEGORIES, type Category } from './catalog/schema.ts';
import { FrameArena, withArena } from './frame-arena.ts';
import { Kernels } from './simd/kernels.ts';
import { newGateScratch, type GateScratch } from './occlusion/index.ts';
import { createRenderContext } from './render/context.ts';
import type { DrawnLight } from './render/drawn-light.ts';
import { newPaintScratch } from './render/paint.ts';
import { RENDERERS } from './render/registry.ts';
import type { AppliedProduct, CategoryRenderer, OcclusionGate } from './render/renderer.ts';

export interface TryOnSelection {
  /** Resolved against the serving catalog, in any order. */
  items: AppliedProduct[];
  /** Share of the displayed image (from its left) kept bare, 0..1; null = no split. */
  compare: number | null;
  /** The shopper has chosen (tryon/selection.ts), even to wear nothing: empty items are drawn as empty, not as the default. */
  chosen?: boolean;
}

/** Builds the frame's occlusion gate; `scratch` is the stage's, so the gate's buffers are reused from frame to frame. */
export type GateFactory = (frame: Frame, face: Face, person?: PersonMask, scratch?: GateScratch) => OcclusionGate;

export interface TryOnStageDeps {
  selection: () => TryOnSelection;
  gate: GateFactory;
  catalog: CatalogSlot;
  /** config tryon.pin: shown instead of the catalog's default while nothing is chosen (if the serving catalog has it). */
  pin?: TryOnPin;
  renderers?: ReadonlyMap<Category, CategoryRenderer>;
  /** The advisor's settled face shape (null: none yet; the renderers then read this frame's mesh). */
  faceShape?: () => FaceShape | null;
  /** A reader of the light the finishes draw (the GAN stage's recorder): they add it to its plane while set. */
  drawnLight?: DrawnLight;
  /** The SIMD kernels the stage's loops run on (default: an instance of its own); null: JavaScript only (the reference). */
  kernels?: Kernels | null;
  /** Hears a renderer that threw; that product is skipped on this frame, the others are drawn. */
  onRenderError?: (category: Category, err: unknown) => void;
}

export type TryOnStage = (frame: Frame, faces: Face[], person?: PersonMask) => string[];

const ORDER = new Map<Category, number>(CATEGORIES.map((c, i) => [c, i]));

/** The selection before the shopper chooses anything (the catalog default or the pin shows). */
export const nothingChosen = (): TryOnSelection => ({ items: [], compare: null });

/** True when the selection needs the person segmentation (hair colour): the tracker runs it only then. */
export function wantsSegmentation(selection: TryOnSelection): boolean {
  return selection.items.some((item) => item.product.category === 'hairColour');
}

export function createTryOnStage(deps: TryOnStageDeps): TryOnStage {
  const renderers = deps.renderers ?? RENDERERS;
  const scratch = newGateScratch();
  // The blend's buffers, this stage's own (another stage, another shopper track, never shares them).
  const paintScratch = newPaintScratch();
  // Every per-frame mask and buffer comes from here (frame-arena.ts): none outlives the frame.
  const arena = new FrameArena(deps.kernels === undefined ? new Kernels() : deps.kernels);
  const drawFrame: TryOnStage = (frame, faces, person) => {
    const shopper = faces[0];
    if (!shopper) return [];
    const selection = deps.selection();
    const split = selection.compare === null ? 0 : Math.min(1, Math.max(0, selection.compare));
    if (split >= 1) return [];
    const chosen = selection.items.length > 0 || selection.chosen ? selection.items : initialItems(deps.catalog.current.catalog, deps.pin);
    if (chosen.length === 0) return [];
    const items = [...chosen].sort((a, b) => ORDER.get(a.product.category)! - ORDER.get(b.product.category)!);
    const bare = split > 0 ? keepBare(frame, split) : null;
    const ctx = createRenderContext(frame, shopper, deps.gate(frame, shopper, person, scratch), person, deps.faceShape?.(), paintScratch, deps.drawnLight);
    const applied: string[] = [];
    for (const item of items) {
      const renderer = renderers.get(item.product.category);
      if (!renderer || item.intensity <= 0) continue;
      try {
        if (renderer.render(ctx, item) && !applied.includes(item.product.id)) applied.push(item.product.id);
      } catch (err) {
        deps.onRenderError?.(item.product.category, err);
      }
    }
    bare?.restore();
    return applied;
  };
  return (frame, faces, person) => {
    arena.reset();
    return withArena(arena, () => drawFrame(frame, faces, person));
  };
}

/** Copies the frame's right `split` share of columns (the displayed left) so they can be put back. */
function keepBare(frame: Frame, split: number): { restore(): void } {
  const x0 = Math.round(frame.width * (1 - split));
  const rowBytes = (frame.width - x0) * 3;
  const copy = Buffer.allocUnsafe(rowBytes * frame.height);
  for (let y = 0; y < frame.height; y++) {
    const start = (y * frame.width + x0) * 3;
    copy.set(frame.data.subarray(start, start + rowBytes), y * rowBytes);
  }
  return {
    restore() {
      for (let y = 0; y < frame.height; y++) frame.data.set(copy.subarray(y * rowBytes, (y + 1) * rowBytes), (y * frame.width + x0) * 3);
    },
  };
}
