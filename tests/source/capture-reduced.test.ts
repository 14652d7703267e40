/**
 * The capture child (real ffmpeg) on a lossless clip whose frames each carry a white block at a
 * known place: frames arrive whole and in order in their pool buffers (read straight from the
 * child's socket), the CNNs' reduced copy comes paired with its own frame and is that frame's box
 * mean (a block lands at its camera position divided by the factor), and a pipeline that holds
 * every buffer makes the source drop frames, not grow its pool.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PooledFrame } from '../../device/core/flow-limiter.ts';
import { FfmpegSource, videoFileInputArgs } from '../../device/source/ffmpeg-source.ts';
import { until } from '../helpers/until.ts';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
// A 192x108 camera on its side: upright frames 108x192, reduced by 3 to 36x64.
const SENSOR = { width: 192, height: 108 };
const FRAMES = 40;
/** Where frame n's 6x6 block sits, in sensor pixels (moves every frame, so a mispaired copy shows). */
const blockAt = (n: number) => ({ x: 30 + 3 * n, y: 20 + n });

/** Centroid of the bright pixels (red channel) of an rgb24 image. */
function centroid(data: Buffer, width: number, height: number): [number, number] {
  let sx = 0;
  let sy = 0;
  let sw = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = data[(y * width + x) * 3];
      if (v < 16) continue;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      sw += v;
    }
  }
  return [sx / sw, sy / sw];
}

describe.skipIf(!hasFfmpeg)('capture child: frames and the reduced copy', () => {
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-reduced-'));
    for (let n = 0; n < FRAMES; n++) {
      const { x, y } = blockAt(n);
      await sharp({ create: { width: SENSOR.width, height: SENSOR.height, channels: 3, background: '#000' } })
        .composite([{ input: { create: { width: 6, height: 6, channels: 3, background: '#fff' } }, left: x, top: y }])
        .png()
        .toFile(path.join(dir, `${String(n).padStart(4, '0')}.png`));
    }
    clip = path.join(dir, 'blocks.mkv');
    // Lossless (FFV1) in 4:2:0, as a camera's decoded frames are.
    const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-framerate', '30', '-i', path.join(dir, '%04d.png'), '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', clip]);
    expect(r.status, String(r.stderr)).toBe(0);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const source = (reduceBy?: number) =>
    new FfmpegSource({ label: 'clip:blocks', inputArgs: videoFileInputArgs(clip), inputPath: clip, ...SENSOR, fps: 30, rotation: 90, reduceBy, logger: quiet });

  /** The sensor block's centre as the upright (turned clockwise) frame shows it. */
  const uprightCentre = (n: number): [number, number] => {
    const { x, y } = blockAt(n);
    return [SENSOR.height - (y + 3), x + 3];
  };
  /** Which clip frame an upright frame shows: the block's x in the sensor gives it away. */
  const clipFrameOf = (full: PooledFrame) => Math.round((centroid(full.data, full.width, full.height)[1] - 3 - 30) / 3);

  it('each frame arrives whole, in order, with its own reduced copy: the box mean, a point at camera p / 3', async () => {
    const src = source(3);
    const seen: Array<{ n: number; full: [number, number]; small: [number, number]; diff: number }> = [];
    await src.start((frame) => {
      if (seen.length < 60) {
        const r = frame.reduced!;
        expect([frame.width, frame.height, r.width, r.height, r.factor]).toEqual([108, 192, 36, 64, 3]);
        // The reduced copy against a box mean of the delivered frame.
        let diff = 0;
        for (let y = 0; y < r.height; y++) {
          for (let x = 0; x < r.width; x++) {
            for (let c = 0; c < 3; c++) {
              let sum = 0;
              for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) sum += frame.data[((3 * y + dy) * frame.width + 3 * x + dx) * 3 + c];
              diff = Math.max(diff, Math.abs(sum / 9 - r.data[(y * r.width + x) * 3 + c]));
            }
          }
        }
        seen.push({ n: clipFrameOf(frame), full: centroid(frame.data, frame.width, frame.height), small: centroid(r.data, r.width, r.height), diff });
      }
      frame.release();
    });
    try {
      await until(() => seen.length >= 60, { what: '60 frames', timeoutMs: 30_000 });
    } finally {
      await src.stop();
    }
    for (const [i, s] of seen.entries()) {
      const [cx, cy] = uprightCentre(s.n);
      expect(s.full[0], `frame ${i} (clip frame ${s.n}) x`).toBeCloseTo(cx, 0);
      expect(s.full[1], `frame ${i} y`).toBeCloseTo(cy, 0);
      // Same frame, same place: the copy's block is the frame's block over 3 (chroma rounding aside).
      expect(Math.abs(s.small[0] * 3 - s.full[0]), `frame ${i} reduced x`).toBeLessThan(0.75);
      expect(Math.abs(s.small[1] * 3 - s.full[1]), `frame ${i} reduced y`).toBeLessThan(0.75);
      expect(s.diff, `frame ${i}: reduced copy vs the frame's box mean`).toBeLessThan(24);
    }
    // In clip order (the clip loops: a wrap goes back to 0).
    const steps = seen.slice(1).map((s, i) => (s.n - seen[i].n + FRAMES) % FRAMES);
    expect(steps.every((d) => d >= 1 && d <= 3)).toBe(true);
    expect(src.health().poolDrops).toBe(0);
  });

  it('without reduceBy no copy is made; a pipeline holding every buffer makes the source drop, not grow', async () => {
    const src = source();
    const held: PooledFrame[] = [];
    await src.start((frame) => held.push(frame));
    try {
      await until(() => src.health().poolDrops >= 10, { what: 'pool drops', timeoutMs: 30_000 });
      // The pool's five buffers, each a whole frame, none handed out twice.
      expect(held.length).toBe(5);
      expect(held.every((f) => f.reduced === undefined)).toBe(true);
      expect(new Set(held.map((f) => f.data.buffer)).size).toBe(5);
      for (const f of held) expect(centroid(f.data, f.width, f.height)[0]).toBeGreaterThan(0);
      // Released, they are filled again.
      for (const f of held.splice(0)) f.release();
      await until(() => held.length > 0, { what: 'a frame after release', timeoutMs: 10_000 });
    } finally {
      await src.stop();
    }
  });
});
