/** A short video file made from the bundled demo clip, for suites that run the ffmpeg capture child. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_CLIP } from '../../device/source/index.ts';

export const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** Writes `frames` demo frames at 30 fps as MPEG-4 into a fresh temp folder; returns the file. */
export function makeClipVideo(frames = 60): string {
  const clip = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-clip-')), 'demo.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-framerate', '30', '-i', path.join(DEMO_CLIP, 'frame-%04d.jpg'), '-frames:v', String(frames), '-c:v', 'mpeg4', '-q:v', '5', clip]);
  return clip;
}
