/**
 * The clip replay after a stall: when the event loop was blocked, the missed ticks are dropped,
 * never delivered back to back to catch up (it ran at 46-57 fps after a stall at 30 fps).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { nowMs } from '../../device/core/frame.ts';
import { ImageFolderSource } from '../../device/source/image-folder-source.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('clip replay (image folder source)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-clip-'));
    for (let i = 0; i < 4; i++) {
      await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 60 * i, g: 90, b: 120 } } })
        .png()
        .toFile(path.join(dir, `frame-${i}.png`));
    }
  });

  it('an event loop blocked for 1 s is not caught up: frames after it keep the clip rate', async () => {
    const fps = 20;
    const interval = 1000 / fps;
    const source = new ImageFolderSource({ dir, width: 64, height: 48, fps, logger: quiet });
    const deliveredAt: number[] = [];
    const done = new Promise<void>((resolve) => {
      void source.start((frame) => {
        deliveredAt.push(frame.capturedAt);
        frame.release();
        if (deliveredAt.length === 5) {
          // A stalled main thread: nothing else runs for a second.
          const until = nowMs() + 1000;
          while (nowMs() < until);
        }
        if (deliveredAt.length === 5 + 15) resolve();
      });
    });
    await done;
    await source.stop();
    const gaps = deliveredAt.slice(5).map((t, i) => t - deliveredAt[4 + i]);
    // Timers never fire early, so only a burst makes gaps short. The first frame after the stall
    // may land just before the next tick of the grid; every other one waits for its tick.
    const bursts = gaps.filter((gap) => gap < interval / 2);
    expect(bursts.length, `gaps after the stall (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')}`).toBeLessThanOrEqual(1);
    expect(source.health().skippedTicks).toBeGreaterThanOrEqual(fps / 2);
  });
});
