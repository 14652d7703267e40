/**
 * The colour profile in a real daemon: the camera (a clip of one rendered warm-light chart photo)
 * is corrected before anything reads the frame, so the chart in the frames the kiosk receives is
 * close to the reference; /healthz and the models map show the profile. A profile that does not
 * validate is refused (degraded, the field named) and the mirror runs uncorrected.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calibrateColour } from '../../calibration/colour/calibrate.ts';
import { profileFromFit, saveProfile } from '../../calibration/colour/profile.ts';
import { sampleChart } from '../../calibration/colour/sample.ts';
import { deltaEToReference } from '../../calibration/colour/solve.ts';
import { decodeSrgb } from '../../calibration/colour/model.ts';
import { fitHomography } from '../../calibration/homography.ts';
import { decodeImage } from '../../calibration/image.ts';
import { collectFrames } from '../helpers/frames.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { renderChartPhoto, type Distortion } from './chart-render.ts';

const CORNERS: Distortion['corners'] = [
  [150, 110],
  [500, 130],
  [490, 370],
  [160, 350],
];
const chartToImage = fitHomography(
  [
    [-0.3, -0.3],
    [6.3, -0.3],
    [6.3, 4.3],
    [-0.3, 4.3],
  ],
  CORNERS,
)!;

const meanDeltaE = (image: Awaited<ReturnType<typeof decodeImage>>): number => {
  const samples = sampleChart(image, chartToImage);
  return samples.reduce((s, p, i) => s + deltaEToReference(decodeSrgb(p.rgb), i), 0) / samples.length;
};

const daemons: RunningDaemon[] = [];
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
});

async function daemonWith(profile: string, clip: string): Promise<RunningDaemon> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-colour-'));
  const config = path.join(dir, 'mirror.json');
  writeFileSync(config, JSON.stringify({ source: `clip:${clip}`, mqtt: { embeddedPort: 0 }, calibration: { colourProfile: profile } }));
  const d = await startDaemon({ env: { MIRROR_CONFIG: config } });
  daemons.push(d);
  return d;
}

describe('the daemon applies the colour profile to every frame', () => {
  it('a warm-light camera: the chart in the emitted frames is corrected; /healthz shows the profile', async () => {
    const clip = mkdtempSync(path.join(os.tmpdir(), 'mirror-chart-clip-'));
    const photo = await renderChartPhoto({ corners: CORNERS, size: { width: 640, height: 480 }, cast: { scene: 3000, camera: 5000 }, exposure: 0.65, noise: 2 }, 'node_modules/@vladmandic/face-api/demo/sample2.jpg');
    writeFileSync(path.join(clip, 'chart.png'), photo.bytes);
    const { fit } = calibrateColour(photo.image);
    const profileFile = path.join(clip, '..', `${path.basename(clip)}-profile.json`);
    const profile = profileFromFit(fit, 'test-warm-camera');
    await saveProfile(profileFile, profile);

    const daemon = await daemonWith(profileFile, clip);
    const [frame] = await collectFrames(daemon.url, 1, { timeoutMs: 60_000 });
    const emitted = await decodeImage(Buffer.from(frame.image), 'emitted frame');
    const before = meanDeltaE(photo.image);
    const after = meanDeltaE(emitted);
    console.log(`chart through the daemon: mean ΔE2000 ${before.toFixed(2)} as captured → ${after.toFixed(2)} as emitted`);
    expect(before).toBeGreaterThan(10);
    // The fit's own figure plus the daemon's JPEG encode.
    expect(after).toBeLessThan(fit.after.mean + 1.5);

    const health = await (await fetch(`${daemon.url}/healthz`)).json();
    expect(health.calibration.colour).toMatchObject({ applied: true, version: profile.version, cameraId: 'test-warm-camera', method: 'matrix' });
    expect(health.models['colour-profile']).toBe(profile.version);
    expect(health.degraded.find((d: { component: string }) => d.component === 'calibration')).toBeUndefined();
  }, 240_000);

  it('a profile that does not validate is refused, named in /healthz, and frames still flow uncorrected', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-bad-profile-'));
    const bad = path.join(dir, 'colour-profile.json');
    writeFileSync(bad, JSON.stringify({ kind: 'colour-profile', v: 1, matrix: 'identity' }));
    const daemon = await daemonWith(bad, path.resolve('device/assets/demo-clip'));
    const frames = await collectFrames(daemon.url, 2, { timeoutMs: 60_000 });
    expect(frames).toHaveLength(2);
    const health = await (await fetch(`${daemon.url}/healthz`)).json();
    expect(health.calibration.colour).toMatchObject({ applied: false });
    expect(health.calibration.colour.error).toMatch(/field "version"/);
    expect(health.status).toBe('degraded');
    expect(JSON.stringify(health.degraded)).toMatch(/calibration.*colour profile not applied/);
    expect(health.models['colour-profile']).toBeUndefined();
  }, 240_000);
});
