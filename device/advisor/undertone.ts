/**
 * Undertone from the skin's CIELAB hue angle h = atan2(b*, a*) (degrees): skin sits between red
 * (a*) and yellow (b*); a lower angle is pinker (cool), a higher one more golden (warm).
 *   cool     h < 48°
 *   neutral  48° ≤ h < 58°
 *   warm     h ≥ 58°
 * Thresholds set around the published MST swatches (h 49-89°) and the camera-measured skin of the
 * face-api demo photos (h 54-79° in neutral light); the colour profile must have removed the
 * light's cast first (a cast moves h directly), which is why the daemon corrects every frame before
 * the advisor reads it.
 */
import type { Lab } from './lab.ts';

export type Undertone = 'warm' | 'neutral' | 'cool';

export const COOL_BELOW = 48;
export const WARM_FROM = 58;

export const hueAngle = (lab: Readonly<Lab>): number => (Math.atan2(lab[2], lab[1]) * 180) / Math.PI;

export function undertoneOf(lab: Readonly<Lab>): Undertone {
  const h = hueAngle(lab);
  if (h < COOL_BELOW) return 'cool';
  return h < WARM_FROM ? 'neutral' : 'warm';
}
