/**
 * The camera → display mapping of the virtual mirror, as one value that travels with each frame:
 *
 *   sensor pixel ──undistort──► ──rotate (camera mounted on its side)──► upright camera pixel
 *     ──crop + scale──► emitted image pixel ──cover-fit on the glass, mirrored──► display pixel
 *
 * The source applies the undistortion and the rotation (ffmpeg or sharp, before any stage reads the
 * frame); the framing stage applies the crop and scale; the kiosk applies the cover fit and the flip
 * (the emitted image has the display's aspect, so the fit is a pure scale). Every step has an exact
 * inverse here, so a point on the glass can be traced back to the sensor and forth again.
 */
import type { Size } from '../core/frame.ts';

export type Rotation = 0 | 90 | 180 | 270;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Radial lens distortion in ffmpeg's `lenscorrection` form: a point at radius r from (cx, cy) in the
 * undistorted image comes from r·(1 + k1·(r/r0)² + k2·(r/r0)⁴) in the sensor image, r0 = half the
 * diagonal. OpenCV's k1, k2 (normalised by the focal length f) convert as k1·(r0/f)², k2·(r0/f)⁴.
 */
export interface LensDistortion {
  /** Centre, in sensor pixels. */
  cx: number;
  cy: number;
  k1: number;
  k2: number;
}

export type Point = [number, number];

export interface FramingTransform {
  /** The capture mode as the sensor delivers it (before rotation). */
  sensor: Size;
  /** Clockwise degrees that turn a sensor image upright. */
  rotation: Rotation;
  lens?: LensDistortion;
  /** The displayed region, in upright camera pixels (integers: the crop is cut on whole pixels). */
  crop: Rect;
  /** The emitted image (the crop resized to at most the display). */
  out: Size;
  /** The glass the kiosk paints on. */
  display: Size;
  /** The kiosk flips horizontally, as a mirror does. */
  mirror: boolean;
}

/** The upright camera image's size for a sensor size and a mounting rotation. */
export function uprightSize(sensor: Size, rotation: Rotation): Size {
  return rotation === 90 || rotation === 270 ? { width: sensor.height, height: sensor.width } : { ...sensor };
}

/** Sensor pixel → upright pixel (pixel-centre convention: x + 0.5 maps to the rotated centre). */
export function rotatePoint([x, y]: Point, sensor: Size, rotation: Rotation): Point {
  switch (rotation) {
    case 0:
      return [x, y];
    case 90:
      return [sensor.height - y, x];
    case 180:
      return [sensor.width - x, sensor.height - y];
    case 270:
      return [y, sensor.width - x];
  }
}

export function unrotatePoint([x, y]: Point, sensor: Size, rotation: Rotation): Point {
  switch (rotation) {
    case 0:
      return [x, y];
    case 90:
      return [y, sensor.height - x];
    case 180:
      return [sensor.width - x, sensor.height - y];
    case 270:
      return [sensor.width - y, x];
  }
}

const halfDiagonal = (size: Size) => Math.hypot(size.width, size.height) / 2;

/** Undistorted sensor point → where the lens put it on the sensor. */
export function distort([x, y]: Point, lens: LensDistortion, sensor: Size): Point {
  const r0 = halfDiagonal(sensor);
  const dx = x - lens.cx;
  const dy = y - lens.cy;
  const q = (dx * dx + dy * dy) / (r0 * r0);
  const f = 1 + lens.k1 * q + lens.k2 * q * q;
  return [lens.cx + dx * f, lens.cy + dy * f];
}

/** Sensor point → undistorted point: Newton on the radius (the model is radial), to 1e-6 px. */
export function undistort([x, y]: Point, lens: LensDistortion, sensor: Size): Point {
  const r0 = halfDiagonal(sensor);
  const dx = x - lens.cx;
  const dy = y - lens.cy;
  const rd = Math.hypot(dx, dy) / r0;
  if (rd === 0) return [x, y];
  let ru = rd;
  for (let i = 0; i < 20; i++) {
    const g = ru * (1 + lens.k1 * ru * ru + lens.k2 * ru ** 4) - rd;
    const dg = 1 + 3 * lens.k1 * ru * ru + 5 * lens.k2 * ru ** 4;
    const step = g / dg;
    ru -= step;
    if (Math.abs(step) * r0 < 1e-6) break;
  }
  const s = ru / rd;
  return [lens.cx + dx * s, lens.cy + dy * s];
}

/** Upright camera pixel → emitted image pixel. */
export function cameraToImage(t: FramingTransform, [x, y]: Point): Point {
  return [((x - t.crop.x) * t.out.width) / t.crop.width, ((y - t.crop.y) * t.out.height) / t.crop.height];
}

export function imageToCamera(t: FramingTransform, [x, y]: Point): Point {
  return [t.crop.x + (x * t.crop.width) / t.out.width, t.crop.y + (y * t.crop.height) / t.out.height];
}

/** The kiosk's cover fit of the emitted image on the glass (ui/src/lib/geometry.ts coverFit). */
function coverFit(t: FramingTransform): { scale: number; dx: number; dy: number } {
  const scale = Math.max(t.display.width / t.out.width, t.display.height / t.out.height);
  return { scale, dx: (t.display.width - t.out.width * scale) / 2, dy: (t.display.height - t.out.height * scale) / 2 };
}

/** Emitted image pixel → display pixel, as the kiosk paints it (mirrored). */
export function imageToDisplay(t: FramingTransform, [x, y]: Point): Point {
  const fit = coverFit(t);
  const sx = fit.dx + x * fit.scale;
  return [t.mirror ? t.display.width - sx : sx, fit.dy + y * fit.scale];
}

export function displayToImage(t: FramingTransform, [x, y]: Point): Point {
  const fit = coverFit(t);
  const sx = t.mirror ? t.display.width - x : x;
  return [(sx - fit.dx) / fit.scale, (y - fit.dy) / fit.scale];
}

/** Sensor pixel (as the lens delivered it) → display pixel. */
export function sensorToDisplay(t: FramingTransform, p: Point): Point {
  const straight = t.lens ? undistort(p, t.lens, t.sensor) : p;
  return imageToDisplay(t, cameraToImage(t, rotatePoint(straight, t.sensor, t.rotation)));
}

/** Display pixel → the sensor pixel it shows. */
export function displayToSensor(t: FramingTransform, p: Point): Point {
  const upright = unrotatePoint(imageToCamera(t, displayToImage(t, p)), t.sensor, t.rotation);
  return t.lens ? distort(upright, t.lens, t.sensor) : upright;
}

/** Screen pixels per camera pixel across the glass: above 1 the camera's pixels are blown up. */
export function displayMagnification(t: FramingTransform): number {
  return (t.out.width / t.crop.width) * Math.max(t.display.width / t.out.width, t.display.height / t.out.height);
}
