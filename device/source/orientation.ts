/**
 * A camera mounted on its side (portrait glass) and its lens, undone at the source so every stage
 * reads an upright, straight image: ffmpeg filters for the capture child, sharp for stills and the
 * clip replay. framing/geometry.ts maps points through the same steps.
 */
import type { Size } from '../core/frame.ts';
import { uprightSize, type LensDistortion, type Rotation } from '../framing/geometry.ts';

export interface Orientation {
  /** Clockwise degrees that stand the sensor's image upright. */
  rotation?: Rotation;
  /** Radial distortion to undo, in sensor pixels (ffmpeg sources only). */
  lens?: LensDistortion;
}

/** ffmpeg filters after the capture-size scale: the lens first (sensor geometry), then the turn. */
export function orientFilters(sensor: Size, { rotation = 0, lens }: Orientation): string[] {
  const filters: string[] = [];
  if (lens) {
    const cx = (lens.cx / sensor.width).toFixed(6);
    const cy = (lens.cy / sensor.height).toFixed(6);
    filters.push(`lenscorrection=cx=${cx}:cy=${cy}:k1=${lens.k1}:k2=${lens.k2}:i=bilinear`);
  }
  if (rotation === 90) filters.push('transpose=clock');
  else if (rotation === 270) filters.push('transpose=cclock');
  else if (rotation === 180) filters.push('hflip', 'vflip');
  return filters;
}

export { uprightSize };
