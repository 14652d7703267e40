/**
 * The manual fallback: the chart located by the centres of its four corner patches, clockwise from
 * dark skin (dark skin, bluish green, black, white), as a person clicks them on the photo.
 */
import { CalibrationError } from '../errors.ts';
import { fitHomography, type Homography, type Point } from '../homography.ts';
import { CHART_COLUMNS, CHART_ROWS } from './reference.ts';

/** Corner-patch centres in chart coordinates (one unit = one patch pitch). */
export const CORNER_PATCH_CENTRES: readonly Point[] = [
  [0.5, 0.5],
  [CHART_COLUMNS - 0.5, 0.5],
  [CHART_COLUMNS - 0.5, CHART_ROWS - 0.5],
  [0.5, CHART_ROWS - 0.5],
];

/** Parses "x,y x,y x,y x,y" (the CLI's --corners). */
export function parseCorners(text: string): Point[] {
  const parts = text.trim().split(/\s+/);
  const points = parts.map((p) => p.split(',').map(Number));
  if (points.length !== 4 || points.some((p) => p.length !== 2 || p.some((v) => !Number.isFinite(v)))) {
    throw new CalibrationError('bad-corners', `--corners needs four "x,y" points (dark skin, bluish green, black, white), got "${text}"`);
  }
  return points as unknown as Point[];
}

/** Chart → image homography from the four corner-patch centres. */
export function chartFromCorners(corners: readonly Point[], size: { width: number; height: number }): Homography {
  const outside = corners.find(([x, y]) => x < 0 || y < 0 || x >= size.width || y >= size.height);
  if (outside) throw new CalibrationError('bad-corners', `corner ${outside.join(',')} lies outside the ${size.width}x${size.height} image`);
  const h = fitHomography(CORNER_PATCH_CENTRES, corners);
  // Three corners in a line (or a repeated point) give no plane.
  const area = corners.reduce((s, [x, y], i) => {
    const [nx, ny] = corners[(i + 1) % 4];
    return s + x * ny - nx * y;
  }, 0);
  if (!h || Math.abs(area) < 16) throw new CalibrationError('bad-corners', 'the four corners do not span a chart (collinear or repeated points)');
  return h;
}
