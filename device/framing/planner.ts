/**
 * Which part of the camera image the glass should show: the crop that puts the shopper's face at
 * mirror scale and in the middle, or, with more people in view, the narrowest crop that keeps all
 * of their faces well inside the picture. Always the glass's aspect, never beyond the frame, never
 * narrower than the glass divided by the largest upscale allowed (the picture stays sharp).
 */
import type { Size } from '../core/frame.ts';
import type { Box } from '../vision/face.ts';
import type { CropState } from './follow.ts';
import type { Rect } from './geometry.ts';

export interface FramingPolicy {
  /** The glass, in pixels (portrait 1080x1920, landscape 1920x1080...). */
  display: Size;
  /** Share of the glass's width the shopper's face spans: the mirror's scale. */
  faceWidth: number;
  /** Where the face's centre sits, as a share of the picture's height from the top. */
  faceY: number;
  /** Largest blow-up of camera pixels on the glass; the crop is never narrower than display / this. */
  maxUpscale: number;
  /** With several people, their faces stay within this central share of the picture's width. */
  groupSpan: number;
}

export const DEFAULT_POLICY: Omit<FramingPolicy, 'display'> = { faceWidth: 0.34, faceY: 0.42, maxUpscale: 1.5, groupSpan: 0.6 };

/** Widest crop of the display's aspect inside the frame. */
export function widestCropWidth(frame: Size, display: Size): number {
  return Math.min(frame.width, (frame.height * display.width) / display.height);
}

/** The crop wanted for these faces (upright camera pixels); no face: the widest crop, centred. */
export function wantedCrop(frame: Size, faces: Box[], policy: FramingPolicy): CropState {
  const aspect = policy.display.height / policy.display.width;
  const maxWidth = widestCropWidth(frame, policy.display);
  const minWidth = Math.min(maxWidth, policy.display.width / policy.maxUpscale);
  if (faces.length === 0) return clampCrop(frame, aspect, { cx: frame.width / 2, cy: frame.height / 2, width: maxWidth });
  const shopper = faces[0];
  let width = shopper.width / policy.faceWidth;
  let left = shopper.x;
  let right = shopper.x + shopper.width;
  let top = shopper.y;
  let bottom = shopper.y + shopper.height;
  for (const face of faces.slice(1)) {
    left = Math.min(left, face.x);
    right = Math.max(right, face.x + face.width);
    top = Math.min(top, face.y);
    bottom = Math.max(bottom, face.y + face.height);
  }
  if (faces.length > 1) width = Math.max(width, (right - left) / policy.groupSpan, ((bottom - top) / policy.groupSpan) / aspect);
  width = Math.min(maxWidth, Math.max(minWidth, width));
  const cx = (left + right) / 2;
  const cy = (top + bottom) / 2 + (0.5 - policy.faceY) * width * aspect;
  return clampCrop(frame, aspect, { cx, cy, width });
}

/** Keeps a crop inside the frame (its width first, then its centre). */
export function clampCrop(frame: Size, aspect: number, crop: CropState): CropState {
  const width = Math.min(crop.width, frame.width, frame.height / aspect);
  const height = width * aspect;
  return {
    width,
    cx: Math.min(frame.width - width / 2, Math.max(width / 2, crop.cx)),
    cy: Math.min(frame.height - height / 2, Math.max(height / 2, crop.cy)),
  };
}

/** The crop on whole pixels (what is cut out), the display's aspect to within a pixel. */
export function cropRect(frame: Size, display: Size, crop: CropState): Rect {
  const aspect = display.height / display.width;
  const c = clampCrop(frame, aspect, crop);
  const width = Math.max(1, Math.min(frame.width, Math.round(c.width)));
  const height = Math.max(1, Math.min(frame.height, Math.round(c.width * aspect)));
  const x = Math.min(frame.width - width, Math.max(0, Math.round(c.cx - width / 2)));
  const y = Math.min(frame.height - height, Math.max(0, Math.round(c.cy - height / 2)));
  return { x, y, width, height };
}

/** The emitted image: the crop itself when it is no larger than the glass, else the glass's size. */
export function outputSize(crop: Rect, display: Size): Size {
  if (crop.width <= display.width && crop.height <= display.height) return { width: crop.width, height: crop.height };
  const scale = Math.min(display.width / crop.width, display.height / crop.height);
  return { width: Math.max(1, Math.round(crop.width * scale)), height: Math.max(1, Math.round(crop.height * scale)) };
}

/** Cheek-to-cheek box of a face mesh (the tracked region around it is larger than the face). */
export function landmarkBox(landmarks: ReadonlyArray<readonly [number, number, number]>): Box {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of landmarks) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
