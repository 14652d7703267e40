/**
 * Finds a ColorChecker Classic in a photo with no help: flat square regions (blobs.ts) → the
 * largest grid they form (lattice.ts) → every way that grid can sit on the 6x4 chart (4 rotations,
 * mirrored or not, shifted) → for each, the homography from chart to image, the 24 patches sampled
 * and the colour model fitted. The placement whose fit is best wins: only the true orientation puts
 * a grey ramp where the greys are and makes the 24 colours agree with one matrix.
 */
import { CalibrationError } from '../errors.ts';
import { fitHomography, type Homography, type Point } from '../homography.ts';
import type { RgbImage } from '../image.ts';
import { findFlatBlobs } from './blobs.ts';
import { largestGrid, type GridMember } from './lattice.ts';
import { CHART_COLUMNS, CHART_ROWS } from './reference.ts';
import { sampleChart } from './sample.ts';
import { fitColour, type PatchSample } from './solve.ts';

export interface ChartLocation {
  chartToImage: Homography;
  samples: PatchSample[];
  /** Patches the grid was fitted on (of 24). */
  patchesFound: number;
  /** Mean ΔE2000 of the quick fit that chose the orientation. */
  score: number;
}

/** Fewest grid patches that pin a chart down (with orientation decided by colour). */
const MIN_PATCHES = 8;
/** A placement whose quick fit is worse than this is not a ColorChecker. */
const MAX_SCORE = 8;

interface Placement {
  points: Array<{ chart: Point; image: Point }>;
}

/** Every placement of the grid on the chart keeping at least 80 % of its members on a patch. */
function placements(grid: readonly GridMember[]): Placement[] {
  const out: Placement[] = [];
  for (const swap of [false, true]) {
    for (const sx of [1, -1]) {
      for (const sy of [1, -1]) {
        const coords = grid.map((m) => [sx * (swap ? m.j : m.i), sy * (swap ? m.i : m.j)] as const);
        const minC = Math.min(...coords.map((c) => c[0]));
        const minR = Math.min(...coords.map((c) => c[1]));
        for (let oc = -minC - CHART_COLUMNS + 1; oc <= -minC + CHART_COLUMNS - 1; oc++) {
          for (let or = -minR - CHART_ROWS + 1; or <= -minR + CHART_ROWS - 1; or++) {
            const points = grid
              .map((m, k) => ({ chart: [coords[k][0] + oc + 0.5, coords[k][1] + or + 0.5] as Point, image: [m.blob.x, m.blob.y] as Point }))
              .filter(({ chart: [c, r] }) => c > 0 && r > 0 && c < CHART_COLUMNS && r < CHART_ROWS);
            if (points.length >= Math.max(MIN_PATCHES, 0.8 * grid.length)) out.push({ points });
          }
        }
      }
    }
  }
  return out;
}

function tryPlacement(image: RgbImage, p: Placement): ChartLocation | null {
  const h = fitHomography(
    p.points.map((q) => q.chart),
    p.points.map((q) => q.image),
  );
  if (!h) return null;
  try {
    const samples = sampleChart(image, h);
    const fit = fitColour(samples, { allowClipped: true, refine: false });
    return { chartToImage: h, samples, patchesFound: p.points.length, score: fit.after.mean };
  } catch {
    // Off the image, too small, or no tone ramp: not this placement.
    return null;
  }
}

export function findChart(image: RgbImage): ChartLocation {
  const blobs = findFlatBlobs(image);
  const grid = largestGrid(blobs);
  if (grid.length < MIN_PATCHES) {
    throw new CalibrationError(
      'no-chart',
      `no ColorChecker found: the largest grid of colour patches has ${grid.length} (need ${MIN_PATCHES}); make the chart fill at least a fifth of the photo, evenly lit, or pass --corners`,
    );
  }
  let best: ChartLocation | null = null;
  for (const p of placements(grid)) {
    const found = tryPlacement(image, p);
    if (found && (!best || found.score < best.score)) best = found;
  }
  if (!best || best.score > MAX_SCORE) {
    throw new CalibrationError(
      'no-chart',
      `no ColorChecker found: a grid of ${grid.length} patches is there, but no orientation of it matches the chart's colours${best ? ` (best mean ΔE2000 ${best.score.toFixed(1)})` : ''}; pass --corners`,
    );
  }
  return best;
}
