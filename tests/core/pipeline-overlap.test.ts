/**
 * The frame loop overlaps two frames and no more: frame N+1's vision runs while frame N is still
 * encoding, frames are emitted in capture order, a second encode never starts before the first
 * is emitted, and each frame's buffer goes back to the pool once, after its emit.
 */
import { describe, expect, it } from 'vitest';
import { LatestFrameSlot, type PooledFrame } from '../../device/core/flow-limiter.ts';
import { PipelineStats } from '../../device/core/pipeline-stats.ts';
import { Pipeline } from '../../device/pipeline.ts';
import { until } from '../helpers/until.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('frame loop overlap', () => {
  it("runs frame N+1's vision while frame N encodes, emits in order, one encode at a time", async () => {
    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const events: string[] = [];
    const released: number[] = [];
    const encodes: Array<() => void> = [];
    let encoding = 0;
    let maxEncoding = 0;
    const pipeline = new Pipeline(
      slot,
      {
        vision: async (f) => {
          events.push(`vision ${f.id}`);
          return { faces: [], detected: false, otherFaces: 0 };
        },
        tryOn: () => [],
        // Each encode finishes only when the test says so.
        encode: (f) =>
          new Promise<Buffer>((resolve) => {
            events.push(`encode ${f.id}`);
            maxEncoding = Math.max(maxEncoding, ++encoding);
            encodes.push(() => {
              encoding--;
              resolve(Buffer.from([f.id]));
            });
          }),
        emit: (m) => events.push(`emit ${m.id} released=${released.includes(m.id)}`),
      },
      stats,
      quiet,
    );
    const frame = (id: number): PooledFrame => ({ id, capturedAt: performance.timeOrigin + performance.now(), width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3), release: () => released.push(id) });
    pipeline.start();
    slot.offer(frame(1));
    await until(() => encodes.length === 1, { what: 'encode 1' });
    // Frame 1 is encoding: frame 2 is taken and seen, and waits for encode 1 before its own.
    slot.offer(frame(2));
    await until(() => events.includes('vision 2'), { what: 'vision 2 during encode 1' });
    expect(events).toEqual(['vision 1', 'encode 1', 'vision 2']);
    await new Promise((r) => setTimeout(r, 20));
    expect(events).not.toContain('encode 2');
    encodes.shift()!();
    await until(() => events.includes('encode 2'), { what: 'encode 2' });
    expect(events.indexOf('emit 1 released=false')).toBeLessThan(events.indexOf('encode 2'));
    slot.offer(frame(3));
    await until(() => events.includes('vision 3'), { what: 'vision 3' });
    encodes.shift()!();
    await until(() => encodes.length === 1, { what: 'encode 3' });
    encodes.shift()!();
    slot.close();
    await pipeline.stopped();
    expect(events.filter((e) => e.startsWith('emit'))).toEqual(['emit 1 released=false', 'emit 2 released=false', 'emit 3 released=false']);
    expect(maxEncoding).toBe(1);
    expect(released).toEqual([1, 2, 3]);
    expect(stats.snapshot(performance.timeOrigin + performance.now()).processedFrames).toBe(3);
  });

  it('a failed encode costs its frame only: released once, counted, the next frame emitted', async () => {
    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const released: number[] = [];
    const emitted: number[] = [];
    const pipeline = new Pipeline(
      slot,
      {
        vision: async () => ({ faces: [], detected: false, otherFaces: 0 }),
        tryOn: () => [],
        encode: async (f) => {
          if (f.id === 1) throw new Error('encoder out of memory');
          return Buffer.alloc(1);
        },
        emit: (m) => emitted.push(m.id),
      },
      stats,
      quiet,
    );
    pipeline.start();
    for (const id of [1, 2]) {
      slot.offer({ id, capturedAt: 0, width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3), release: () => released.push(id) });
      await until(() => released.includes(id), { what: `frame ${id} done` });
    }
    slot.close();
    await pipeline.stopped();
    expect(emitted).toEqual([2]);
    expect(released).toEqual([1, 2]);
    expect(stats.snapshot(0).stageErrors).toBe(1);
  });

  it('a frame nobody wants is not encoded: passed on with its faces, released once, counted without an emit latency', async () => {
    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const released: number[] = [];
    const encoded: number[] = [];
    const emitted: number[] = [];
    const passed: Array<{ id: number; faces: number; applied: string[] }> = [];
    const face = { box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, landmarks: [] };
    let wanted = true;
    const pipeline = new Pipeline(
      slot,
      {
        vision: async () => ({ faces: [face], detected: true, otherFaces: 0 }),
        tryOn: () => ['lipstick'],
        wanted: () => wanted,
        encode: async (f) => {
          encoded.push(f.id);
          return Buffer.alloc(1);
        },
        emit: (m) => emitted.push(m.id),
        pass: (m) => passed.push({ id: m.id, faces: m.faces.length, applied: m.applied }),
      },
      stats,
      quiet,
    );
    pipeline.start();
    for (const id of [1, 2, 3, 4]) {
      // Frames 2 and 3 arrive while every kiosk is busy.
      wanted = id === 1 || id === 4;
      slot.offer({ id, capturedAt: performance.timeOrigin + performance.now(), width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3), release: () => released.push(id) });
      await until(() => released.includes(id), { what: `frame ${id} done` });
    }
    slot.close();
    await pipeline.stopped();
    expect(encoded).toEqual([1, 4]);
    expect(emitted).toEqual([1, 4]);
    expect(passed).toEqual([
      { id: 2, faces: 1, applied: ['lipstick'] },
      { id: 3, faces: 1, applied: ['lipstick'] },
    ]);
    expect(released).toEqual([1, 2, 3, 4]);
    const snap = stats.snapshot(performance.timeOrigin + performance.now());
    expect(snap.processedFrames).toBe(4);
    expect(snap.stageErrors).toBe(0);
  });
});
