/**
 * Colour calibration from rendered ColorChecker photos (chart-render.ts: the published reference
 * values under known distortions), found automatically: after calibration, mean ΔE2000 ≤ 2 and
 * max ≤ 5 in every case, with both the 3x3 matrix and the root-polynomial fit.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrateColour } from '../../calibration/colour/calibrate.ts';
import { loadProfile, profileFromFit, saveProfile } from '../../calibration/colour/profile.ts';
import { CalibrationError } from '../../calibration/errors.ts';
import { fitHomography, mapPoint, type Point } from '../../calibration/homography.ts';
import { decodeImage } from '../../calibration/image.ts';
import { CORNER_PATCH_CENTRES } from '../../calibration/colour/corners.ts';
import { renderChartPhoto, type Distortion } from './chart-render.ts';

const BACKGROUND = 'node_modules/@vladmandic/face-api/demo/sample2.jpg';
const ARTIFACTS = 'test-artifacts/calibration';
const VGA = { width: 640, height: 480 };
const FRONT: Distortion['corners'] = [
  [150, 110],
  [500, 130],
  [490, 370],
  [160, 350],
];
/** Seen from below and to the side, turned by ~20 degrees. */
const OBLIQUE: Distortion['corners'] = [
  [210, 60],
  [560, 170],
  [470, 420],
  [120, 300],
];

// The camera keeps a fixed daylight white balance (5000 K); the store light changes under it.
const CASES: Record<string, Omit<Distortion, 'size'>> = {
  'warm 3000 K store LEDs': { corners: FRONT, cast: { scene: 3000, camera: 5000 }, exposure: 0.65, noise: 2, jpeg: 75 },
  'cool 6500 K daylight': { corners: FRONT, cast: { scene: 6500, camera: 5000 }, exposure: 0.8, noise: 2, jpeg: 75 },
  'under-exposed with a steep tone curve': { corners: FRONT, exposure: 0.45, gamma: 1.3, noise: 2, jpeg: 75 },
  'bright with a flat tone curve': { corners: FRONT, exposure: 0.9, gamma: 0.75, noise: 2, jpeg: 75 },
  'sensor noise': { corners: FRONT, noise: 6, jpeg: 90 },
  'oblique perspective, warm light, JPEG 75': { corners: OBLIQUE, cast: { scene: 3500, camera: 5000 }, exposure: 0.7, noise: 3, jpeg: 75 },
};

async function photo(name: string, d: Omit<Distortion, 'size'>) {
  const rendered = await renderChartPhoto({ ...d, size: VGA }, BACKGROUND);
  await mkdir(ARTIFACTS, { recursive: true });
  await writeFile(path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-')}.${d.jpeg ? 'jpg' : 'png'}`), rendered.bytes);
  return rendered;
}

const refusal = (fn: () => unknown): CalibrationError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CalibrationError) return err;
    throw err;
  }
  throw new Error('expected a CalibrationError');
};

describe('colour calibration from a rendered ColorChecker photo', () => {
  for (const [name, distortion] of Object.entries(CASES)) {
    it(`${name}: found automatically, mean ΔE2000 ≤ 2 and max ≤ 5 after`, async () => {
      const { image } = await photo(name, distortion);
      for (const method of ['matrix', 'root-polynomial'] as const) {
        const { fit, located } = calibrateColour(image, { method });
        expect(located).toBe('automatic');
        expect(fit.patches.filter((p) => p.clipped)).toEqual([]);
        expect(fit.after.mean, `${method} mean`).toBeLessThanOrEqual(2);
        expect(fit.after.max, `${method} max`).toBeLessThanOrEqual(5);
        expect(fit.patches).toHaveLength(24);
        console.log(`${name} [${method}]: ΔE2000 before mean ${fit.before.mean.toFixed(2)} max ${fit.before.max.toFixed(2)}; after mean ${fit.after.mean.toFixed(2)} max ${fit.after.max.toFixed(2)}`);
      }
    });
  }

  it('the cast is real: a 3000 K photo is far off before calibration, and the white balance undoes it', async () => {
    const { image } = await photo('warm check', CASES['warm 3000 K store LEDs']);
    const { fit } = calibrateColour(image);
    expect(fit.before.mean).toBeGreaterThan(8);
    // Warm light: the camera sees too much red and too little blue; the gains say the opposite.
    const [r, g, b] = fit.model.whiteBalance;
    expect(r / g).toBeLessThan(0.9);
    expect(b / g).toBeGreaterThan(1.2);
  });

  it('the four-corner fallback reads the same patches as the automatic detection', async () => {
    const d = CASES['oblique perspective, warm light, JPEG 75'];
    const { image } = await photo('corners', d);
    const body: Point[] = [
      [-0.3, -0.3],
      [6.3, -0.3],
      [6.3, 4.3],
      [-0.3, 4.3],
    ];
    const h = fitHomography(body, d.corners)!;
    const corners = CORNER_PATCH_CENTRES.map((p) => mapPoint(h, p));
    const manual = calibrateColour(image, { corners });
    const auto = calibrateColour(image);
    expect(manual.located).toBe('corners');
    manual.samples.forEach((s, i) => s.rgb.forEach((v, c) => expect(Math.abs(v - auto.samples[i].rgb[c])).toBeLessThan(2)));
    expect(manual.fit.after.max).toBeLessThanOrEqual(5);
  });

  it('a photo without a chart is refused: "no ColorChecker found"', async () => {
    const image = await decodeImage(await readFile(BACKGROUND), BACKGROUND);
    const err = refusal(() => calibrateColour(image));
    expect(err.problem).toBe('no-chart');
    expect(err.message).toMatch(/no ColorChecker found/);
  });

  it('an over-exposed photo is refused naming the clipped patches', async () => {
    const { image } = await photo('over-exposed', { corners: FRONT, exposure: 1.5, noise: 2, jpeg: 75 });
    const clipped = refusal(() => calibrateColour(image));
    expect(clipped.problem).toBe('clipped');
    const manual = refusal(() => calibrateColour(image, { corners: cornersOf(FRONT) }));
    expect(manual.problem).toBe('clipped');
    expect(manual.message).toMatch(/19 \(white 9\.5\).*clipped \(over-exposed\)/);
  });

  it('four corners that span no chart are refused', async () => {
    const { image } = await photo('front', { corners: FRONT });
    const err = refusal(() => calibrateColour(image, { corners: [[10, 10], [20, 20], [30, 30], [40, 40]] }));
    expect(err.problem).toBe('bad-corners');
    expect(refusal(() => calibrateColour(image, { corners: [[10, 10], [900, 20], [300, 300], [40, 400]] })).message).toMatch(/outside the 640x480 image/);
  });

  it('unreadable bytes and a thumbnail are refused with what is wrong', async () => {
    await expect(decodeImage(Buffer.from('not an image at all'), 'junk.jpg')).rejects.toMatchObject({ problem: 'unreadable-image', message: /junk\.jpg is not a readable image/ });
    const { image } = await photo('front', { corners: FRONT });
    const sharp = (await import('sharp')).default;
    const tiny = await sharp(Buffer.from(image.data), { raw: { width: 640, height: 480, channels: 3 } }).resize(48, 36).png().toBuffer();
    await expect(decodeImage(tiny, 'tiny.png')).rejects.toMatchObject({ problem: 'image-size', message: /48x36: too small/ });
  });

  it('the profile is written atomically and validated when loaded (the bad field named)', async () => {
    const { image } = await photo('profile', CASES['cool 6500 K daylight']);
    const { fit } = calibrateColour(image);
    const dir = path.join(os.tmpdir(), `colour-profile-${process.pid}`);
    const file = path.join(dir, 'colour-profile.json');
    const profile = profileFromFit(fit, 'test-camera', new Date('2026-12-01T12:00:00Z'));
    await saveProfile(file, profile);
    expect(await loadProfile(file)).toEqual(profile);
    await writeFile(file, JSON.stringify({ ...profile, whiteBalance: [1, -2, 1] }));
    await expect(loadProfile(file)).rejects.toMatchObject({ problem: 'bad-profile', message: /field "whiteBalance\.1"/ });
    expect(await loadProfile(path.join(dir, 'absent.json'))).toBeNull();
  });
});

function cornersOf(outer: Distortion['corners']): Point[] {
  const h = fitHomography(
    [
      [-0.3, -0.3],
      [6.3, -0.3],
      [6.3, 4.3],
      [-0.3, 4.3],
    ],
    outer,
  )!;
  return CORNER_PATCH_CENTRES.map((p) => mapPoint(h, p));
}
