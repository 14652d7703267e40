/** One photo to one fit: the chart found (or placed by four corners), sampled, fitted. */
import type { Point } from '../homography.ts';
import type { RgbImage } from '../image.ts';
import { chartFromCorners } from './corners.ts';
import { findChart } from './detect.ts';
import type { CorrectionMethod } from './model.ts';
import { sampleChart } from './sample.ts';
import { fitColour, type ColourFit, type PatchSample } from './solve.ts';

export interface CalibrateOptions {
  method?: CorrectionMethod;
  /** The centres of the four corner patches (corners.ts); unset = find the chart automatically. */
  corners?: readonly Point[];
  allowClipped?: boolean;
}

export interface ColourCalibration {
  fit: ColourFit;
  samples: PatchSample[];
  /** How the chart was located. */
  located: 'automatic' | 'corners';
}

export function calibrateColour(image: RgbImage, options: CalibrateOptions = {}): ColourCalibration {
  const samples = options.corners ? sampleChart(image, chartFromCorners(options.corners, image)) : findChart(image).samples;
  const fit = fitColour(samples, { method: options.method, allowClipped: options.allowClipped });
  return { fit, samples, located: options.corners ? 'corners' : 'automatic' };
}
