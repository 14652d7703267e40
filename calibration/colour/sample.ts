/**
 * Reads each patch's colour through the chart's homography: the centre of the patch (a square
 * PATCH_SAMPLE wide, so a detection off by a few pixels still reads one patch), pixels with a
 * clipped (saturated highlight) channel rejected, then a per-channel trimmed mean (noise, JPEG ringing, dust).
 */
import { CalibrationError } from '../errors.ts';
import { mapPoint, type Homography } from '../homography.ts';
import type { RgbImage } from '../image.ts';
import { CHART_COLUMNS, CHART_ROWS, type Rgb } from './reference.ts';
import type { PatchSample } from './solve.ts';

/** Side of the sampled square, in patch pitches (a patch itself is ~0.8 of the pitch). */
export const PATCH_SAMPLE = 0.44;
/** Share of each tail dropped from the mean. */
const TRIM = 0.2;
/** Smallest sampled square, in image pixels, that still averages the noise out. */
export const MIN_SAMPLE_PX = 4;
/** A channel at or above this code value is clipped (over-exposed). */
export const CLIPPED_CODE = 254;

function trimmedMean(values: number[]): number {
  values.sort((a, b) => a - b);
  const cut = Math.floor(values.length * TRIM);
  const kept = values.slice(cut, values.length - cut);
  return kept.reduce((s, v) => s + v, 0) / kept.length;
}

/** The sampled square's side in image pixels (the shorter of its two mapped edges). */
function sampleSide(chartToImage: Homography, cx: number, cy: number): number {
  const h = PATCH_SAMPLE / 2;
  const [ax, ay] = mapPoint(chartToImage, [cx - h, cy - h]);
  const [bx, by] = mapPoint(chartToImage, [cx + h, cy - h]);
  const [dx, dy] = mapPoint(chartToImage, [cx - h, cy + h]);
  return Math.min(Math.hypot(bx - ax, by - ay), Math.hypot(dx - ax, dy - ay));
}

export function samplePatch(image: RgbImage, chartToImage: Homography, column: number, row: number): PatchSample {
  const cx = column + 0.5;
  const cy = row + 0.5;
  const side = sampleSide(chartToImage, cx, cy);
  if (!(side >= MIN_SAMPLE_PX)) {
    throw new CalibrationError('image-size', `the chart is too small in the image: a patch centre is ${side.toFixed(1)} px across (need ${MIN_SAMPLE_PX})`);
  }
  const n = Math.min(48, Math.max(MIN_SAMPLE_PX, Math.round(side)));
  const channels: number[][] = [[], [], []];
  let clipped = 0;
  let total = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const u = cx + PATCH_SAMPLE * ((i + 0.5) / n - 0.5);
      const v = cy + PATCH_SAMPLE * ((j + 0.5) / n - 0.5);
      const [x, y] = mapPoint(chartToImage, [u, v]);
      const px = Math.round(x);
      const py = Math.round(y);
      if (px < 0 || py < 0 || px >= image.width || py >= image.height) {
        throw new CalibrationError('bad-corners', `patch ${row * CHART_COLUMNS + column + 1} lies outside the ${image.width}x${image.height} image`);
      }
      const o = (py * image.width + px) * 3;
      const r = image.data[o];
      const g = image.data[o + 1];
      const b = image.data[o + 2];
      total++;
      // Highlights only: a saturated patch has a channel at 0 by right (the cyan patch in sRGB).
      if (Math.max(r, g, b) >= CLIPPED_CODE) {
        clipped++;
        continue;
      }
      channels[0].push(r);
      channels[1].push(g);
      channels[2].push(b);
    }
  }
  const pixels = channels[0].length;
  const rgb = (pixels > 0 ? channels.map(trimmedMean) : [0, 0, 0]) as Rgb;
  return { rgb, clippedFraction: clipped / total, pixels };
}

/** The 24 patches in chart order. */
export function sampleChart(image: RgbImage, chartToImage: Homography): PatchSample[] {
  const out: PatchSample[] = [];
  for (let r = 0; r < CHART_ROWS; r++) for (let c = 0; c < CHART_COLUMNS; c++) out.push(samplePatch(image, chartToImage, c, r));
  return out;
}
