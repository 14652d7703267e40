/**
 * Stability on the demo clip (issue 15): the lip mask the stage really paints through (the render
 * context's gated `lips` mask, built as the stage builds it) overlaps itself from one frame to the
 * next with IoU ≥ 0.9 once the clip's own motion is taken out (see below), tracked as the daemon
 * tracks (FaceTracker with its landmark smoothing, the clip's 30 fps timestamps). Soft-mask IoU:
 * Σ min(a, b) / Σ max(a, b) over the frame. The gate keeps its scratch from frame to frame, as the
 * stage's does (one per track: the lips' temporal hysteresis, occlusion/temporal.ts, lives there).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../device/core/frame.ts';
import { DEMO_CLIP } from '../../device/source/index.ts';
import { createOcclusionGate, newGateScratch } from '../../device/tryon/occlusion/index.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import { regionMask } from '../../device/tryon/region-masks.ts';
import type { CoverageMask } from '../../device/tryon/raster.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { loadVision } from '../helpers/vision.ts';
import { CLIP_FRAMES, clipPose, frameToPhoto, photoToFrame } from '../../device/tools/demo-clip-path.ts';

/**
 * The clip moves the face (pan, zoom, roll: up to ~5 px per frame at 1280x720) and its lips are
 * thin (upper lip ~8 px), so consecutive masks of a perfectly tracked face already overlap only
 * ~0.75: the clip's own motion, not instability. Measured 2026-12-01, the landmarks of the
 * previous frame carried by the clip's exact motion (device/tools/demo-clip-path.ts) overlap the
 * previous mask by 0.745 on average, the same as the tracker's raw consecutive IoU (0.744).
 * What the issue means by stability is the mask changing where the face did not: so the bar is
 * applied to the previous frame's gated mask carried to this frame by the clip's true motion,
 * against this frame's gated mask ("motion-compensated IoU"). The raw consecutive IoU is printed.
 */
const ISSUE_IOU = 0.9;
/**
 * Floors on the motion-compensated IoU of the gated mask: the issue's 0.9 on every pair. Measured
 * 2026-12-02 with the tracker meshing a new track's first frames twice (face-tracker.ts,
 * SETTLE_FRAMES) and the smoother's speed seeded on the track's second frame: min 0.908, p5 0.926,
 * mean 0.953 (region mask alone: min 0.920). Before, the track's frames 1 -> 2 overlapped 0.886
 * (region mask alone 0.895), every other pair >= 0.9.
 */
const MIN_MEAN_IOU = 0.95;
const MIN_P5_IOU = 0.92;
const MIN_IOU = ISSUE_IOU;

/** The clip's frame `f` (0-based) as a pose, and the continuous-coordinate maps through the photo. */
const pose = (f: number) => clipPose(f / CLIP_FRAMES);
function carry(from: number, to: number, x: number, y: number): [number, number] {
  const [px, py] = frameToPhoto(pose(from), x - 0.5, y - 0.5);
  const [fx, fy] = photoToFrame(pose(to), px, py);
  return [fx + 0.5, fy + 0.5];
}

/** Mask `m` of frame `from` resampled (bilinear) onto frame `to`'s pixels by the clip's true motion. */
function carried(m: CoverageMask, from: number, to: number): CoverageMask {
  const { rect } = m;
  const corners = [
    [rect.x, rect.y],
    [rect.x + rect.width, rect.y],
    [rect.x, rect.y + rect.height],
    [rect.x + rect.width, rect.y + rect.height],
  ].map(([x, y]) => carry(from, to, x, y));
  const x0 = Math.floor(Math.min(...corners.map((c) => c[0]))) - 1;
  const y0 = Math.floor(Math.min(...corners.map((c) => c[1]))) - 1;
  const width = Math.ceil(Math.max(...corners.map((c) => c[0]))) + 1 - x0;
  const height = Math.ceil(Math.max(...corners.map((c) => c[1]))) + 1 - y0;
  const alpha = new Float32Array(width * height);
  const at = (x: number, y: number) => {
    const mx = x - rect.x;
    const my = y - rect.y;
    return mx >= 0 && my >= 0 && mx < rect.width && my < rect.height ? m.alpha[my * rect.width + mx] : 0;
  };
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [sx, sy] = carry(to, from, x0 + x + 0.5, y0 + y + 0.5);
      const fx = sx - 0.5;
      const fy = sy - 0.5;
      const ix = Math.floor(fx);
      const iy = Math.floor(fy);
      const ax = fx - ix;
      const ay = fy - iy;
      alpha[y * width + x] = (at(ix, iy) * (1 - ax) + at(ix + 1, iy) * ax) * (1 - ay) + (at(ix, iy + 1) * (1 - ax) + at(ix + 1, iy + 1) * ax) * ay;
    }
  return { rect: { x: x0, y: y0, width, height }, alpha };
}

function softIou(a: CoverageMask, b: CoverageMask): number {
  const x0 = Math.min(a.rect.x, b.rect.x);
  const y0 = Math.min(a.rect.y, b.rect.y);
  const x1 = Math.max(a.rect.x + a.rect.width, b.rect.x + b.rect.width);
  const y1 = Math.max(a.rect.y + a.rect.height, b.rect.y + b.rect.height);
  const at = (m: CoverageMask, x: number, y: number) => {
    const mx = x - m.rect.x;
    const my = y - m.rect.y;
    return mx >= 0 && my >= 0 && mx < m.rect.width && my < m.rect.height ? m.alpha[my * m.rect.width + mx] : 0;
  };
  let inter = 0;
  let union = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const p = at(a, x, y);
      const q = at(b, x, y);
      inter += Math.min(p, q);
      union += Math.max(p, q);
    }
  return union > 0 ? inter / union : 0;
}

describe('stability on the demo clip', () => {
  it(`lip mask IoU between consecutive frames, the clip's own motion taken out (the gated mask the stage paints through): every pair >= ${ISSUE_IOU}`, async () => {
    const vision = await loadVision();
    const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
    const files = (await readdir(DEMO_CLIP)).filter((f) => f.endsWith('.jpg')).sort();
    expect(files.length).toBe(CLIP_FRAMES);
    let previous: CoverageMask | null = null;
    let previousRaw: CoverageMask | null = null;
    const ious: number[] = [];
    const rawIous: number[] = [];
    const carriedIous: number[] = [];
    const carriedRawIous: number[] = [];
    const scratch = newGateScratch();
    for (const [n, file] of files.entries()) {
      const { data, info } = await sharp(path.join(DEMO_CLIP, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const frame: Frame = { id: n + 1, capturedAt: (n * 1000) / 30, width: info.width, height: info.height, format: 'rgb24', data };
      const face = (await tracker.process(frame)).faces[0];
      expect(face, file).toBeDefined();
      const lips = createRenderContext(frame, face, createOcclusionGate(frame, face, undefined, scratch)).mask('lips');
      expect(lips, file).not.toBeNull();
      const raw = regionMask(face.landmarks, 'lips', frame)!;
      if (previous && previousRaw) {
        ious.push(softIou(previous, lips!));
        rawIous.push(softIou(previousRaw, raw));
        carriedIous.push(softIou(carried(previous, n - 1, n), lips!));
        carriedRawIous.push(softIou(carried(previousRaw, n - 1, n), raw));
      }
      previous = lips;
      previousRaw = raw;
    }
    const summary = (v: number[]) => {
      const sorted = [...v].sort((a, b) => a - b);
      return { min: sorted[0], p5: sorted[Math.floor(sorted.length * 0.05)], mean: v.reduce((s, x) => s + x, 0) / v.length };
    };
    const show = (r: ReturnType<typeof summary>) => `min ${r.min.toFixed(3)}, p5 ${r.p5.toFixed(3)}, mean ${r.mean.toFixed(3)}`;
    const stable = summary(carriedIous);
    console.log(
      `lip-mask IoU over ${ious.length} consecutive pairs (issue: ${ISSUE_IOU}):\n` +
        `  motion taken out: stage (gated) ${show(stable)}; region mask alone ${show(summary(carriedRawIous))}\n` +
        `  as captured (the clip's motion included): stage (gated) ${show(summary(ious))}; region mask alone ${show(summary(rawIous))}`,
    );
    expect(stable.mean).toBeGreaterThanOrEqual(MIN_MEAN_IOU);
    expect(stable.p5).toBeGreaterThanOrEqual(MIN_P5_IOU);
    const under = carriedIous.flatMap((v, k) => (v < ISSUE_IOU ? [`frames ${k}->${k + 1}: ${v.toFixed(3)}`] : []));
    console.log(`pairs under ${ISSUE_IOU}: ${under.join(', ') || 'none'}`);
    expect(stable.min).toBeGreaterThanOrEqual(MIN_IOU);
    // 150 frames of mesh on a shared 2-core machine.
  }, 300_000);
});
