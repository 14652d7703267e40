/**
 * The `calibrate` bin as a technician runs it: a chart photo in, a profile out; photos it cannot
 * use refused with the problem named and a non-zero exit; latency through a real daemon.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../calibration/colour/profile.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { renderChartPhoto, type Distortion } from './chart-render.ts';

const BACKGROUND = 'node_modules/@vladmandic/face-api/demo/sample2.jpg';
const CORNERS: Distortion['corners'] = [
  [150, 110],
  [500, 130],
  [490, 370],
  [160, 350],
];
const dir = mkdtempSync(path.join(os.tmpdir(), 'calibrate-cli-'));

function calibrate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'calibration/cli.ts', ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const warm = await renderChartPhoto({ corners: CORNERS, size: { width: 640, height: 480 }, cast: { scene: 3000, camera: 5000 }, exposure: 0.65, noise: 2, jpeg: 75 }, BACKGROUND);
  writeFileSync(path.join(dir, 'warm.jpg'), warm.bytes);
  const bright = await renderChartPhoto({ corners: CORNERS, size: { width: 640, height: 480 }, exposure: 1.5, jpeg: 75 }, BACKGROUND);
  writeFileSync(path.join(dir, 'bright.jpg'), bright.bytes);
  writeFileSync(path.join(dir, 'junk.jpg'), 'this is not a JPEG');
}, 120_000);

describe('calibrate color', () => {
  it('a chart photo: ΔE2000 per patch printed, the profile written and valid', async () => {
    const out = path.join(dir, 'state', 'colour-profile.json');
    const r = await calibrate('color', '--image', path.join(dir, 'warm.jpg'), '--out', out, '--camera-id', 'cam-7', '--method', 'root-polynomial');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/chart found automatically/);
    expect(r.stdout).toMatch(/18 {2}cyan/);
    const [, before, after] = /mean ([\d.]+) → ([\d.]+)/.exec(r.stdout)!;
    expect(Number(before)).toBeGreaterThan(10);
    expect(Number(after)).toBeLessThanOrEqual(2);
    const profile = await loadProfile(out);
    expect(profile).toMatchObject({ cameraId: 'cam-7', method: 'root-polynomial' });
  }, 120_000);

  it('a photo without a chart, an over-exposed one, an unreadable file, bad corners: exit 1 naming the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--image', BACKGROUND], /no ColorChecker found/],
      [['--image', path.join(dir, 'bright.jpg')], /white 9\.5\).*clipped \(over-exposed\)/],
      [['--image', path.join(dir, 'junk.jpg')], /junk\.jpg is not a readable image/],
      [['--image', path.join(dir, 'missing.jpg')], /cannot read .*missing\.jpg: ENOENT/],
      [['--image', path.join(dir, 'warm.jpg'), '--corners', '1,2 3,4'], /--corners needs four "x,y" points/],
    ];
    for (const [args, message] of cases) {
      const r = await calibrate('color', ...args, '--out', path.join(dir, 'never.json'));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(await loadProfile(path.join(dir, 'never.json'))).toBeNull();
  }, 240_000);

  it('usage mistakes exit 2 with the usage', async () => {
    for (const args of [['color'], ['frobnicate'], ['color', '--image', 'x.jpg', '--method', 'cubic'], ['latency', '--frames', 'many']]) {
      const r = await calibrate(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: calibrate color/);
    }
  }, 120_000);
});

describe('calibrate latency', () => {
  let daemon: RunningDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  }, 240_000);
  afterAll(async () => {
    await daemon?.stop();
  });

  it('through a real daemon: p50 ≤ p95 ≤ max per stage, and the daemon counted the paints', async () => {
    const r = await calibrate('latency', '--url', daemon.url, '--frames', '30', '--timeout-s', '90', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.frames).toBe(30);
    for (const stage of ['captureToEmit', 'captureToReceive', 'captureToPaint']) {
      const s = report[stage];
      expect(s.p50).toBeGreaterThan(0);
      expect(s.p50).toBeLessThanOrEqual(s.p95);
      expect(s.p95).toBeLessThanOrEqual(s.max);
    }
    // Each stage comes after the one before it, frame by frame.
    expect(report.captureToPaint.p50).toBeGreaterThanOrEqual(report.captureToReceive.p50);
    expect(report.captureToReceive.p50).toBeGreaterThanOrEqual(report.captureToEmit.p50);
    expect(report.daemonPaintP95Ms).toBeGreaterThan(0);
    console.log(`calibrate latency (loopback, loaded test machine): ${JSON.stringify(report)}`);
  }, 180_000);

  it('no daemon there: exit 1 naming the address', async () => {
    const r = await calibrate('latency', '--url', 'http://127.0.0.1:9', '--frames', '5', '--timeout-s', '10');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the daemon's kiosk socket at http:\/\/127\.0\.0\.1:9/);
  }, 60_000);
});
