/**
 * Cost of the per-frame colour correction (apply.ts) at the capture sizes the daemon runs:
 * `npm run bench:calibration`. Prints the median and p95 milliseconds per frame for each method.
 */
import sharp from 'sharp';
import { createColourCorrector } from './colour/apply.ts';
import type { ColourModel } from './colour/model.ts';

const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
const FRAMES = 120;

// A warm-light profile as the fit produces it (values from a 3000 K chart in tests/calibration).
const MATRIX: ColourModel = {
  method: 'matrix',
  whiteBalance: [1.6, 1.9, 3.1],
  toneExponent: [1.02, 1, 0.98],
  matrix: [
    [1.12, -0.08, -0.04],
    [-0.05, 1.09, -0.04],
    [0.01, -0.12, 1.11],
  ],
};
const ROOT: ColourModel = { ...MATRIX, method: 'root-polynomial', matrix: MATRIX.matrix.map((row) => [...row, 0.03, -0.02, 0.01]) };

const percentile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

for (const [width, height] of [
  [640, 480],
  [1280, 720],
]) {
  const frame = await sharp(PHOTO).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  for (const model of [MATRIX, ROOT]) {
    const corrector = createColourCorrector(model);
    const times: number[] = [];
    for (let i = 0; i < FRAMES + 10; i++) {
      const data = Buffer.from(frame);
      const t0 = performance.now();
      corrector.apply(data);
      if (i >= 10) times.push(performance.now() - t0);
    }
    console.log(`${width}x${height} ${model.method}: min ${Math.min(...times).toFixed(2)} ms, median ${percentile(times, 0.5).toFixed(2)} ms, p95 ${percentile(times, 0.95).toFixed(2)} ms per frame`);
  }
}
