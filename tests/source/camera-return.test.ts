/**
 * Camera lost and back, on the real ffmpeg capture child reading a file that disappears and
 * reappears (as /dev/videoN does when a USB camera is unplugged): the source says it is lost,
 * never spawns a child for an absent input, never waits more than 1 s between tries, and delivers
 * again once the input is back.
 */
import { renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nowMs } from '../../device/core/frame.ts';
import { FfmpegSource, INPUT_POLL_MS, RESTART_BACKOFF, videoFileInputArgs } from '../../device/source/ffmpeg-source.ts';
import type { SourceStatus } from '../../device/source/source.ts';
import { hasFfmpeg, makeClipVideo } from '../daemon/clip-video.ts';
import { until } from '../helpers/until.ts';

interface LogLine {
  level: string;
  msg?: string;
  fields: Record<string, unknown>;
}

function recorder(lines: LogLine[]) {
  const log = (level: string) => (fields: object, msg?: string) => lines.push({ level, msg, fields: fields as Record<string, unknown> });
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** The v4l2-style source on a video file, recording what it logs, reports and delivers. */
async function startOn(clip: string) {
  const lines: LogLine[] = [];
  const statuses: SourceStatus[] = [];
  const delivered = { frames: 0 };
  const source = new FfmpegSource({ label: `clip:${clip}`, inputArgs: videoFileInputArgs(clip), inputPath: clip, width: 64, height: 48, fps: 15, logger: recorder(lines) });
  await source.start(
    (frame) => {
      delivered.frames++;
      frame.release();
    },
    (status) => statuses.push(status),
  );
  return { source, lines, statuses, delivered };
}

describe.skipIf(!hasFfmpeg)('ffmpeg source: camera lost and back', () => {
  it('reports lost while the input is gone, polls instead of spawning, and is live again once it returns', async () => {
    const clip = makeClipVideo(30);
    const { source, lines, statuses, delivered } = await startOn(clip);
    try {
      await until(() => delivered.frames >= 3, { timeoutMs: 20_000, what: 'first frames' });
      expect(statuses.map((s) => s.state)).toEqual(['live']);

      // Unplugged: the input is gone and the child dies.
      renameSync(clip, `${clip}.away`);
      process.kill(source.childPid!, 'SIGKILL');
      await until(() => statuses.length === 2, { timeoutMs: 10_000, what: 'lost' });
      expect(statuses[1]).toMatchObject({ state: 'lost' });
      // Long enough for several polls: no child is spawned for an absent input.
      const startsWhileAway = lines.filter((l) => l.msg === 'capture child started').length;
      await new Promise((r) => setTimeout(r, 6 * INPUT_POLL_MS));
      expect(lines.filter((l) => l.msg === 'capture child started').length).toBe(startsWhileAway);
      expect(source.childPid).toBeUndefined();
      expect(source.health().lastError).toMatch(/exited/);

      const framesBefore = delivered.frames;
      renameSync(`${clip}.away`, clip);
      const backAt = nowMs();
      await until(() => statuses.length === 3, { timeoutMs: 10_000, what: 'live again' });
      const pickupMs = nowMs() - backAt;
      expect(statuses[2]).toMatchObject({ state: 'live', reason: null });
      await until(() => delivered.frames > framesBefore + 2, { timeoutMs: 10_000, what: 'frames after the return' });
      // Measured for the README/issue note; the bound that guarantees it is below.
      console.info(`camera picked up ${pickupMs.toFixed(0)} ms after it returned`);
      // Every wait the supervisor chose stays under the 1 s cap that keeps pickup within 2 s.
      const delays = lines.filter((l) => l.msg === 'restarting capture child').map((l) => l.fields.delayMs as number);
      expect(delays.length).toBeGreaterThan(0);
      for (const d of delays) expect(d).toBeLessThanOrEqual(RESTART_BACKOFF.maxMs);
      expect(RESTART_BACKOFF.maxMs + INPUT_POLL_MS).toBeLessThanOrEqual(1500);
    } finally {
      await source.stop();
    }
  }, 60_000);

  it('an input that is absent at start is reported lost at once and picked up when it appears', async () => {
    const clip = makeClipVideo(30);
    renameSync(clip, `${clip}.away`);
    const { source, lines, statuses, delivered } = await startOn(clip);
    try {
      expect(statuses).toEqual([expect.objectContaining({ state: 'lost', reason: `${clip} is not present` })]);
      expect(lines.some((l) => l.msg === 'capture child started')).toBe(false);
      renameSync(`${clip}.away`, clip);
      await until(() => delivered.frames >= 2, { timeoutMs: 20_000, what: 'frames once the input appeared' });
      expect(statuses.map((s) => s.state)).toEqual(['lost', 'live']);
    } finally {
      await source.stop();
    }
  }, 60_000);
});
