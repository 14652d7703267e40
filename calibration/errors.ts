/** Why a calibration input was refused; the CLI prints the message and exits non-zero. */
import { MirrorError } from '../fleet/protocol/errors.ts';

export type CalibrationProblem =
  | 'unreadable-image'
  | 'image-size'
  | 'no-chart'
  | 'bad-corners'
  | 'clipped'
  | 'fit-failed'
  | 'bad-profile'
  | 'bad-arguments'
  | 'no-frames'
  | 'no-face';

export class CalibrationError extends MirrorError {
  constructor(
    readonly problem: CalibrationProblem,
    message: string,
  ) {
    super('MIRROR_ERR_CALIBRATION', message);
    this.name = 'CalibrationError';
  }
}
