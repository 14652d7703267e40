/**
 * Sparkle anchored to the mesh: each glint is a fixed point in barycentric coordinates of a mesh
 * triangle (three landmark indices), drawn from a seeded generator once per (region, count), so it
 * rides on the face as it moves and stays put on a still face: no per-frame randomness. A glint's
 * brightness depends on its own phase and the head's pose (a tilt makes different glints catch the
 * light, as glitter does), never on time. Brightness is relative to the face's own highlight.
 */
import { converter } from 'culori';
import type { Frame } from '../../core/frame.ts';
import type { HeadPose } from '../../vision/pose.ts';
import { interOcular, type Point } from '../../vision/regions.ts';
import * as colour from '../colour.ts';
import { linearToSrgb } from '../colour.ts';
import type { CoverageMask } from '../raster.ts';
import type { Material } from './material.ts';
import type { DrawnLight } from './drawn-light.ts';
import type { LightEstimate } from './renderer.ts';
import type { Rgb } from './paint.ts';
import { mulberry32 } from '../../core/seeded-random.ts';

// Private copies of imported tables read per pixel (an imported binding costs more there: colour.ts).
const SRGB_TO_LINEAR = colour.SRGB_TO_LINEAR;

export type AnchorTriangle = readonly [number, number, number];

export interface SparkleField {
  triangles: readonly AnchorTriangle[];
  /** Per glint: triangle index, barycentric (u, v), phase (rad), hue slot, size factor. */
  tri: Uint16Array;
  u: Float32Array;
  v: Float32Array;
  phase: Float32Array;
  hue: Uint8Array;
  size: Float32Array;
}

/** Holographic glints cycle through these hues (OKLCH, light and vivid), as linear RGB from culori. */
const toLinear = converter('lrgb');
const HUES: Rgb[] = Array.from({ length: 12 }, (_, k) => {
  const c = toLinear({ mode: 'oklch', l: 0.88, c: 0.14, h: k * 30 });
  return [Math.max(0, c.r), Math.max(0, c.g), Math.max(0, c.b)];
});

/** A region's glints come from a generator seeded by its key (FNV-1a), the same on every frame and run. */
function seeded(key: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return mulberry32(h);
}

const fields = new Map<string, SparkleField>();

/** The glints of a region: `count` points on `triangles`, the same for the same key on every call. */
export function sparkleField(key: string, triangles: readonly AnchorTriangle[], count: number): SparkleField {
  const id = `${key}:${count}`;
  const cached = fields.get(id);
  if (cached) return cached;
  const rand = seeded(id);
  const field: SparkleField = {
    triangles,
    tri: new Uint16Array(count),
    u: new Float32Array(count),
    v: new Float32Array(count),
    phase: new Float32Array(count),
    hue: new Uint8Array(count),
    size: new Float32Array(count),
  };
  for (let k = 0; k < count; k++) {
    let u = rand();
    let v = rand();
    // Fold into the triangle so points are uniform over it.
    if (u + v > 1) {
      u = 1 - u;
      v = 1 - v;
    }
    field.tri[k] = Math.floor(rand() * triangles.length);
    field.u[k] = u;
    field.v[k] = v;
    field.phase[k] = rand() * Math.PI * 2;
    field.hue[k] = Math.floor(rand() * HUES.length);
    field.size[k] = 0.6 + 0.8 * rand();
  }
  fields.set(id, field);
  return field;
}

/**
 * How fast glints trade places as the head turns (radians of phase per degree of pose): a 10° turn
 * makes a third of a cycle, while the pose's own jitter on a still face (a fraction of a degree)
 * leaves every glint as it was.
 */
const TWINKLE_PER_DEGREE = 0.1;

/**
 * Adds the field's glints to `frame`, each scaled by `strength` (opacity × intensity) and by the
 * mask's coverage where it lands (an occluded or feathered-out glint is not drawn). Returns the
 * number of glints drawn.
 */
export function drawSparkles(
  frame: Frame,
  mask: CoverageMask,
  landmarks: ReadonlyArray<Point>,
  field: SparkleField,
  material: Readonly<Material>,
  colour: Rgb,
  strength: number,
  light: LightEstimate,
  pose?: HeadPose,
  recorder?: DrawnLight,
): number {
  if (material.sparkleStrength <= 0 || strength <= 0) return 0;
  const sigma = Math.max(0.55, interOcular(landmarks) * 0.0045);
  const angle = pose ? (pose.yaw + pose.pitch) * TWINKLE_PER_DEGREE : 0;
  const peak = Math.max(colour[0], colour[1], colour[2], 1e-4);
  const level = material.sparkleStrength * strength * Math.max(0.2, light.highlight);
  let drawn = 0;
  for (let k = 0; k < field.tri.length; k++) {
    const [ia, ib, ic] = field.triangles[field.tri[k]];
    const A = landmarks[ia];
    const B = landmarks[ib];
    const C = landmarks[ic];
    const px = A[0] + field.u[k] * (B[0] - A[0]) + field.v[k] * (C[0] - A[0]);
    const py = A[1] + field.u[k] * (B[1] - A[1]) + field.v[k] * (C[1] - A[1]);
    const mx = Math.floor(px) - mask.rect.x;
    const my = Math.floor(py) - mask.rect.y;
    if (mx < 0 || my < 0 || mx >= mask.rect.width || my >= mask.rect.height || mask.alpha[my * mask.rect.width + mx] < 0.05) continue;
    // A glint catches the light over part of its phase cycle only.
    const glint = Math.max(0, Math.cos(field.phase[k] + angle)) ** 3;
    const amount = level * glint;
    if (amount < 0.01) continue;
    const hue = HUES[field.hue[k]];
    // Shimmer: a pale glint of the shade's own colour; holographic: the glint's own hue.
    const tint = (c: number, h: number) => amount * ((1 - material.iridescence) * (0.5 + (0.5 * c) / peak) + material.iridescence * h);
    splat(frame, mask, px, py, sigma * field.size[k], tint(colour[0], hue[0]), tint(colour[1], hue[1]), tint(colour[2], hue[2]), recorder?.plane ?? null);
    drawn++;
  }
  return drawn;
}

/** Adds a small Gaussian of linear light (r, g, b) at (cx, cy), times the mask's coverage (a glint never leaves the region). */
function splat(frame: Frame, mask: CoverageMask, cx: number, cy: number, sigma: number, r: number, g: number, b: number, lightPlane: Float32Array | null): void {
  const reach = Math.ceil(sigma * 2.5);
  const { rect, alpha } = mask;
  const x0 = Math.max(rect.x, Math.floor(cx) - reach);
  const x1 = Math.min(rect.x + rect.width - 1, Math.floor(cx) + reach);
  const y0 = Math.max(rect.y, Math.floor(cy) - reach);
  const y1 = Math.min(rect.y + rect.height - 1, Math.floor(cy) + reach);
  const k = -0.5 / (sigma * sigma);
  const { data, width } = frame;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const w = Math.exp(k * (dx * dx + dy * dy)) * alpha[(y - rect.y) * rect.width + (x - rect.x)];
      if (w < 0.02) continue;
      const p = (y * width + x) * 3;
      if (lightPlane) lightPlane[y * width + x] += w * (0.2126 * r + 0.7152 * g + 0.0722 * b);
      data[p] = linearToSrgb(SRGB_TO_LINEAR[data[p]] + w * r);
      data[p + 1] = linearToSrgb(SRGB_TO_LINEAR[data[p + 1]] + w * g);
      data[p + 2] = linearToSrgb(SRGB_TO_LINEAR[data[p + 2]] + w * b);
    }
}
