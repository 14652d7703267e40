/**
 * The spine end to end on real parts: the daemon on the demo clip, a real socket.io client,
 * real ffmpeg as the capture child, and signals as systemd sends them.
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { collectFrames } from '../helpers/frames.ts';
import { hasFfmpeg, makeClipVideo } from './clip-video.ts';
import { until } from '../helpers/until.ts';

/** SIGTERM as systemd sends it: the kiosk socket and MQTT client close, exit 0 within the 3 s budget. */
async function expectCleanStop(daemon: RunningDaemon): Promise<void> {
  // The kiosk listens before the telemetry step starts: stop a daemon that finished starting.
  await until(async () => ((await (await fetch(`${daemon.url}/healthz`)).json()) as { mqtt: unknown }).mqtt !== null || undefined, {
    timeoutMs: 30_000,
    what: 'the daemon to finish starting (MQTT in /healthz)',
  });
  const socket = io(daemon.url, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  const disconnected = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
  const result = await daemon.stop('SIGTERM');
  expect(result.code).toBe(0);
  expect(result.ms).toBeLessThan(3000);
  expect(await disconnected).toBeTruthy();
  const msgs = daemon.logs.map((l) => l.msg);
  expect(msgs).toContain('stopped');
  expect(msgs.some((m) => typeof m === 'string' && /MQTT.*(closed|disconnected|offline)/i.test(m))).toBe(true);
  expect(daemon.logs.filter((l) => l.msg === 'stop step failed')).toEqual([]);
}

describe('daemon on the bundled demo clip', () => {
  let daemon: RunningDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('streams at least 60 frames with increasing ids and a 468-point mesh inside the face box', async () => {
    const frames = await collectFrames(daemon.url, 60);
    for (let i = 1; i < frames.length; i++) expect(frames[i].id).toBeGreaterThan(frames[i - 1].id);
    const withFace = frames.filter((f) => f.faces.length > 0);
    expect(withFace.length).toBeGreaterThanOrEqual(55);
    for (const frame of withFace) {
      const [face] = frame.faces;
      expect(face.landmarks).toHaveLength(468);
      const { x, y, width, height } = face.box;
      const inside = face.landmarks.filter(([lx, ly]) => lx >= x && lx <= x + width && ly >= y && ly <= y + height);
      expect(inside.length).toBe(468);
      // The mesh fills its crop (about 1/1.5 of it) rather than collapsing to a point.
      const xs = face.landmarks.map((p) => p[0]);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(width * 0.4);
      expect(frame.capturedAt).toBeLessThanOrEqual(frame.emittedAt);
      expect(frame.applied).toEqual(['lumiere-rouge-satin']);
    }
    const jpeg = Buffer.from(frames[0].image);
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('a client that stalls for 3 s gets fresh frames afterwards, not a backlog of stale ones', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(daemon.url, { transports: ['websocket'] });
    const ages: number[] = [];
    let count = 0;
    const done = new Promise<void>((resolve) => {
      socket.on('frame', (frame, received) => {
        received();
        count++;
        if (count === 10) {
          // A busy browser: its event loop does nothing else for 3 s.
          const until = Date.now() + 3000;
          while (Date.now() < until);
          return;
        }
        if (count > 10) ages.push(performance.timeOrigin + performance.now() - frame.capturedAt);
        if (ages.length === 20) resolve();
      });
    });
    await done;
    socket.close();
    // At most the frame in flight during the stall (and one ack-timeout resend) can be stale.
    expect(ages.filter((age) => age > 1000).length).toBeLessThanOrEqual(2);
    expect(Math.max(...ages.slice(3))).toBeLessThan(1000);
  });

  it('serves /healthz with uptime, fps, frame age, backends and model versions', async () => {
    const health = await (await fetch(`${daemon.url}/healthz`)).json();
    expect(health.status).toBe('ok');
    expect(health.fps).toBeGreaterThan(0);
    expect(health.lastFrameAgeMs).toBeLessThan(2000);
    expect(health.uptimeS).toBeGreaterThanOrEqual(0);
    expect(health.backends).toEqual({ detector: expect.stringMatching(/^(tfjs|onnx)-/), mesh: expect.stringMatching(/^(tfjs|onnx)-/) });
    expect(Object.keys(health.backendChoices)).toEqual(expect.arrayContaining(['face-detector', 'face-mesh']));
    expect(health.models['face-mesh']).toMatch(/facemesh/);
    expect(health.models['face-detector']).toMatch(/blazeface/);
  });

  it('ignores a malformed painted ack and keeps streaming', async () => {
    const socket = io(daemon.url, { transports: ['websocket'] });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.emit('painted', { id: 'not-a-number', paintedAt: -1 } as never);
    socket.emit('painted', null as never);
    socket.close();
    const frames = await collectFrames(daemon.url, 5);
    expect(frames).toHaveLength(5);
  });

  // Runs where ffmpeg is missing too: the clip source (an image folder) has no child process.
  it('on SIGTERM (clip source, no capture child) closes the socket server and MQTT client and exits 0 within 3 s', async () => {
    expect(daemon.logs.some((l) => l.msg === 'capture child started')).toBe(false);
    await expectCleanStop(daemon);
  });
});

// Each test starts its own daemon (up to 60 s to start under load) and then streams: longer than the suite default.
const START_AND_STREAM_MS = 150_000;

describe.skipIf(!hasFfmpeg)('daemon with an ffmpeg capture child', () => {
  let clip: string;
  beforeAll(() => {
    clip = makeClipVideo();
  });

  it('restarts the capture child when it dies mid-stream', async () => {
    const daemon = await startDaemon({ env: { SOURCE: `clip:${clip}` } });
    try {
      await collectFrames(daemon.url, 10);
      const pid = daemon.logs.find((l) => l.msg === 'capture child started')?.pid as number;
      process.kill(pid, 'SIGKILL');
      await collectFrames(daemon.url, 10, { timeoutMs: 20_000 });
      const starts = daemon.logs.filter((l) => l.msg === 'capture child started');
      expect(starts.length).toBeGreaterThanOrEqual(2);
      expect(daemon.logs.some((l) => l.msg === 'capture failure')).toBe(true);
    } finally {
      await daemon.stop();
    }
  }, START_AND_STREAM_MS);

  it('on SIGTERM closes the capture child, socket server and MQTT client and exits 0 within 3 s', async () => {
    const daemon = await startDaemon({ env: { SOURCE: `clip:${clip}` } });
    await collectFrames(daemon.url, 5);
    const pid = daemon.logs.find((l) => l.msg === 'capture child started')?.pid as number;
    await expectCleanStop(daemon);
    expect(() => process.kill(pid, 0)).toThrow();
  }, START_AND_STREAM_MS);
});
