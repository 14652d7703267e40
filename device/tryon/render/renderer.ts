/**
 * One interface for every category's renderer (device/tryon/render/<category>.ts): a new category
 * is a new file here plus catalog entries. The try-on stage builds one RenderContext per frame and
 * calls the renderers of the selected products in catalog/schema.ts CATEGORIES order.
 */
import type { Frame } from '../../core/frame.ts';
import type { Face } from '../../vision/face.ts';
import type { RegionName } from '../../vision/regions.ts';
import type { PersonMask } from '../../vision/segmentation.ts';
import type { CoverageMask } from '../raster.ts';
import type { FaceShape } from '../../advisor/face-shape.ts';
import type { Category, Product, Shade } from '../catalog/schema.ts';
import type { DrawnLight } from './drawn-light.ts';
import type { PaintScratch } from './paint.ts';
import type { ShapedZone } from './shape-placement.ts';

/** One product on the face: what the shopper picked and how strongly (0..1). */
export interface AppliedProduct {
  product: Product;
  shade: Shade;
  intensity: number;
}

/**
 * Where paint may land: multiplies a region's coverage in place by how visible that region's own
 * surface is at each pixel (0 over teeth, tongue, mouth interior, fingers, hands, hair, sclera/iris).
 * Implemented in device/tryon/occlusion/.
 */
export interface OcclusionGate {
  apply(region: RegionName, mask: CoverageMask): void;
}

/** The face's own light, estimated once per frame (render/light.ts): gloss and shimmer follow it. */
export interface LightEstimate {
  /** Unit vector in image space (x right, y down) pointing from the face towards the key light. */
  direction: [number, number];
  /** Linear-light luminance of the brightest skin (robust 97th percentile) and the median skin. */
  highlight: number;
  median: number;
}

export interface RenderContext {
  frame: Frame;
  face: Face;
  /** Region (or face-shape zone) masks for this frame and face, computed once and shared by renderers (read-only). */
  mask(region: RegionName | ShapedZone): CoverageMask | null;
  gate: OcclusionGate;
  light: LightEstimate;
  /** The face's shape (the advisor's settled reading, else this frame's mesh): where blush, contour and bronzer go. */
  faceShape: FaceShape;
  /** Person segmentation at frame resolution, when it runs (hair colour needs it). */
  person?: PersonMask;
  /** The blend's reusable buffers (paint.ts): the try-on stage's own, kept from frame to frame. */
  paintScratch: PaintScratch;
  /** Where the finishes record the light they draw, when a reader (the GAN stage) asked for it. */
  drawnLight?: DrawnLight;
}

export interface CategoryRenderer {
  readonly category: Category;
  /** Draws `item` into ctx.frame; returns whether anything was drawn. */
  render(ctx: RenderContext, item: AppliedProduct): boolean;
}
