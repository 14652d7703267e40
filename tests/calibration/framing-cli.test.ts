/**
 * `calibrate framing` as an installer runs it: a still from a camera mounted on its side (a frame
 * of the portrait demo clip as the sensor delivers it) → rotation 90 found, the crop planned by the
 * daemon's framing stage, a 1080x1920 preview of the glass written; a still without a face exits 1
 * naming it; a bad --display or --rotation exits 2 with the usage.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'calibrate-framing-'));
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

function calibrate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'calibration/cli.ts', ...args], { cwd: repoRoot, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!hasFfmpeg)('calibrate framing', () => {
  it('a sideways camera still: rotation 90, the crop, the magnification, a preview of the glass', async () => {
    const still = path.join(dir, 'still.jpg');
    expect(spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', path.join(repoRoot, 'device/assets/demo-portrait.mp4'), '-frames:v', '1', '-q:v', '2', still]).status).toBe(0);
    const preview = path.join(dir, 'glass.png');
    const r = await calibrate('framing', '--image', still, '--preview', preview, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    console.log(`calibrate framing: ${JSON.stringify(report)}`);
    expect(report.rotation).toBe(90);
    expect(report.camera).toEqual({ width: 1080, height: 1920 });
    expect(report.magnification).toBeLessThanOrEqual(1.5);
    expect(report.faceCentre[0]).toBeGreaterThan(1 / 3);
    expect(report.faceCentre[0]).toBeLessThan(2 / 3);
    expect(report.config.capture).toEqual({ width: 1920, height: 1080, rotation: 90 });
    const meta = await sharp(preview).metadata();
    expect([meta.width, meta.height]).toEqual([1080, 1920]);
  }, 300_000);

  it('a still without a face exits 1 naming it, and writes no preview', async () => {
    const empty = path.join(dir, 'wall.jpg');
    await sharp({ create: { width: 640, height: 480, channels: 3, background: '#b8a999' } }).jpeg().toFile(empty);
    const r = await calibrate('framing', '--image', empty, '--preview', path.join(dir, 'never.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no face found in the image at any rotation/);
  }, 300_000);

  it.each([
    [['framing', '--image', 'x.jpg', '--display', '1080by1920'], /--display must be WIDTHxHEIGHT/],
    [['framing', '--image', 'x.jpg', '--rotation', '45'], /--rotation must be auto, 0, 90, 180 or 270/],
    [['framing'], /calibrate framing needs --image/],
  ])('usage mistake %j exits 2 with the usage', async (args, message) => {
    const r = await calibrate(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: calibrate color/);
  });
});
