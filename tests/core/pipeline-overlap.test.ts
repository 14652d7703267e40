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

  it('a frame nobody wants is neither drawn nor encoded: seen, observed, passed on with its faces, released once, counted without an emit latency', async () => {
    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const released: number[] = [];
    const seen: number[] = [];
    const observed: number[] = [];
    const drawn: number[] = [];
    const encoded: number[] = [];
    const emitted: Array<{ id: number; applied: string[] }> = [];
    const passed: Array<{ id: number; faces: number; applied: string[]; drawn: boolean }> = [];
    const asked: Array<{ id: number; aheadMs: number }> = [];
    const face = { box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, landmarks: [] };
    // Per frame: the answers to the ask before the draw and the ask before the encode.
    const answers: Record<number, [boolean, boolean]> = { 1: [true, true], 2: [false, false], 3: [false, true], 4: [true, false], 5: [true, true] };
    let current = 0;
    let ask = 0;
    const pipeline = new Pipeline(
      slot,
      {
        vision: async (f) => {
          seen.push(f.id);
          current = f.id;
          ask = 0;
          return { faces: [face], detected: true, otherFaces: 0 };
        },
        observe: ({ frame, faces }) => observed.push(faces.length === 1 ? frame.id : -1),
        tryOn: (f) => {
          drawn.push(f.id);
          f.data[0] = 255;
          return ['lipstick'];
        },
        wanted: (aheadMs) => {
          asked.push({ id: current, aheadMs });
          return answers[current][ask++];
        },
        encode: async (f) => {
          encoded.push(f.id);
          return Buffer.alloc(1);
        },
        emit: (m) => emitted.push({ id: m.id, applied: m.applied }),
        pass: (m) => passed.push({ id: m.id, faces: m.faces.length, applied: m.applied, drawn: m.drawn }),
      },
      stats,
      quiet,
    );
    pipeline.start();
    for (const id of [1, 2, 3, 4, 5]) {
      slot.offer({ id, capturedAt: performance.timeOrigin + performance.now(), width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3), release: () => released.push(id) });
      await until(() => released.includes(id), { what: `frame ${id} done` });
    }
    slot.close();
    await pipeline.stopped();
    // Vision and the advisor's look at the camera pixels run on every frame.
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(observed).toEqual([1, 2, 3, 4, 5]);
    // Frames 2 and 3 were not wanted when drawing began: never drawn (3's later yes is never asked).
    expect(drawn).toEqual([1, 4, 5]);
    expect(asked.map((a) => a.id)).toEqual([1, 1, 2, 3, 4, 4, 5, 5]);
    // The ask before the encode says the frame is ready now; the ask before the draw adds the draw's expected time.
    expect(asked.filter((_, i) => [1, 5, 7].includes(i)).map((a) => a.aheadMs)).toEqual([0, 0, 0]);
    expect(asked[0].aheadMs).toBe(0);
    expect(encoded).toEqual([1, 5]);
    expect(emitted).toEqual([
      { id: 1, applied: ['lipstick'] },
      { id: 5, applied: ['lipstick'] },
    ]);
    // Frame 4 was drawn, then the kiosk fell behind: passed with what was drawn on it.
    expect(passed).toEqual([
      { id: 2, faces: 1, applied: [], drawn: false },
      { id: 3, faces: 1, applied: [], drawn: false },
      { id: 4, faces: 1, applied: ['lipstick'], drawn: true },
    ]);
    expect(released).toEqual([1, 2, 3, 4, 5]);
    const snap = stats.snapshot(performance.timeOrigin + performance.now());
    expect(snap.processedFrames).toBe(5);
    expect(stats.drawnFrames).toBe(3);
    expect(snap.stageErrors).toBe(0);
  });

  it('idle work runs after the last frame is emitted and only while no frame waits; a waiting frame goes first and the work keeps', async () => {
    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const events: string[] = [];
    const encodes: Array<() => void> = [];
    let pending = false;
    const pipeline = new Pipeline(
      slot,
      {
        vision: async (f) => {
          events.push(`vision ${f.id}`);
          // Frame 1 leaves work for a quiet moment (a people scan).
          if (f.id === 1) pending = true;
          return { faces: [], detected: false, otherFaces: 0 };
        },
        tryOn: () => [],
        idle: () =>
          pending
            ? async () => {
                pending = false;
                events.push('idle');
              }
            : null,
        encode: () => new Promise<Buffer>((resolve) => encodes.push(() => resolve(Buffer.alloc(1)))),
        emit: (m) => events.push(`emit ${m.id}`),
      },
      stats,
      quiet,
    );
    const frame = (id: number): PooledFrame => ({ id, capturedAt: performance.timeOrigin + performance.now(), width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3), release: () => {} });
    pipeline.start();
    slot.offer(frame(1));
    await until(() => encodes.length === 1, { what: 'encode 1' });
    // Frame 2 arrives while frame 1 encodes: it is taken first, the work waits.
    slot.offer(frame(2));
    encodes.shift()!();
    await until(() => events.includes('vision 2'), { what: 'vision 2' });
    expect(events).toEqual(['vision 1', 'emit 1', 'vision 2']);
    await until(() => encodes.length === 1, { what: 'encode 2' });
    await new Promise((r) => setTimeout(r, 20));
    // No frame waiting, but frame 2 is still encoding: the work waits for its emit.
    expect(events).not.toContain('idle');
    encodes.shift()!();
    await until(() => events.includes('idle'), { what: 'idle work' });
    expect(events).toEqual(['vision 1', 'emit 1', 'vision 2', 'emit 2', 'idle']);
    slot.offer(frame(3));
    await until(() => encodes.length === 1, { what: 'encode 3' });
    encodes.shift()!();
    slot.close();
    await pipeline.stopped();
    expect(events.filter((e) => e === 'idle')).toHaveLength(1);
    expect(stats.snapshot(performance.timeOrigin + performance.now()).processedFrames).toBe(3);
  });
});
