/**
 * Latest-frame-wins: a slow pipeline never works on a stale frame, nothing queues up behind it,
 * every dropped frame is counted and its buffer goes back to the pool.
 */
import { describe, expect, it } from 'vitest';
import { LatestFrameSlot, type PooledFrame } from '../../device/core/flow-limiter.ts';
import { PipelineStats } from '../../device/core/pipeline-stats.ts';
import { Pipeline } from '../../device/pipeline.ts';
import { FramePool } from '../../device/source/frame-pool.ts';
import type { EncodedFrame } from '../../device/pipeline.ts';

function frame(id: number, pool: FramePool, released: number[]): PooledFrame | null {
  const data = pool.acquire();
  if (!data) return null;
  return {
    id,
    capturedAt: performance.timeOrigin + performance.now(),
    width: 2,
    height: 2,
    format: 'rgb24',
    data,
    release: () => {
      released.push(id);
      pool.release(data);
    },
  };
}

describe('latest-frame-wins slot', () => {
  it('a frame still waiting when a newer one arrives is dropped, counted and released', async () => {
    const slot = new LatestFrameSlot();
    const pool = new FramePool(12);
    const released: number[] = [];
    for (let id = 1; id <= 3; id++) slot.offer(frame(id, pool, released)!);
    expect(slot.dropped).toBe(2);
    expect(released).toEqual([1, 2]);
    const taken = await slot.take();
    expect(taken?.id).toBe(3);
  });

  it('close wakes a waiting taker with null and releases what was pending', async () => {
    const slot = new LatestFrameSlot();
    const waiting = slot.take();
    slot.close();
    expect(await waiting).toBeNull();
    const pool = new FramePool(12);
    const released: number[] = [];
    slot.offer(frame(9, pool, released)!);
    expect(released).toEqual([9]);
  });

  it('a slow stage only ever sees the newest frame and the pool never runs dry', async () => {
    const slot = new LatestFrameSlot();
    const pool = new FramePool(12, 4);
    const released: number[] = [];
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const seen: number[] = [];
    const emitted: EncodedFrame[] = [];
    let latestOffered = 0;
    const pipeline = new Pipeline(
      slot,
      {
        vision: async (f) => {
          // The frame in hand is the newest one offered when it was taken.
          seen.push(f.id);
          expect(f.id).toBe(latestOffered);
          await new Promise((r) => setTimeout(r, 20));
          return { faces: [], detected: false, otherFaces: 0 };
        },
        tryOn: () => [],
        encode: async (f) => Buffer.from(f.data),
        emit: (m) => emitted.push(m),
      },
      stats,
      { info: () => {}, warn: () => {}, error: () => {} },
    );
    pipeline.start();
    let poolDrops = 0;
    // A source four times faster than the pipeline.
    for (let id = 1; id <= 60; id++) {
      const f = frame(id, pool, released);
      if (f) {
        latestOffered = id;
        slot.offer(f);
      } else poolDrops++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 50));
    slot.close();
    await pipeline.stopped();
    expect(poolDrops).toBe(0);
    expect(seen.length).toBeLessThan(30);
    expect(seen.length + slot.dropped).toBe(60);
    expect(stats.snapshot(performance.timeOrigin + performance.now()).droppedFrames).toBe(slot.dropped);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(emitted.map((m) => m.id)).toEqual(seen);
    // Every frame, processed or dropped, went back to the pool exactly once.
    expect([...released].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('a stage that throws costs one frame, not the loop', async () => {
    const slot = new LatestFrameSlot();
    const pool = new FramePool(12);
    const released: number[] = [];
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const emitted: number[] = [];
    const pipeline = new Pipeline(
      slot,
      {
        vision: async (f) => {
          if (f.id === 1) throw new Error('model exploded');
          return { faces: [], detected: false, otherFaces: 0 };
        },
        tryOn: () => [],
        encode: async (f) => Buffer.from(f.data),
        emit: (m) => emitted.push(m.id),
      },
      stats,
      { info: () => {}, warn: () => {}, error: () => {} },
    );
    pipeline.start();
    slot.offer(frame(1, pool, released)!);
    await new Promise((r) => setTimeout(r, 10));
    slot.offer(frame(2, pool, released)!);
    await new Promise((r) => setTimeout(r, 10));
    slot.close();
    await pipeline.stopped();
    expect(emitted).toEqual([2]);
    expect(stats.snapshot(performance.timeOrigin + performance.now()).stageErrors).toBe(1);
    expect(released.sort()).toEqual([1, 2]);
  });
});
