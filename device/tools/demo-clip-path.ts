/**
 * The demo clip's camera path (device/tools/make-demo-clip.ts draws it): a head-and-shoulders crop
 * of one still photo moved like a shopper at the mirror (pan, zoom, a few degrees of roll) along a
 * closed loop. Shared with the tests, which know from it exactly where every photo pixel lands on
 * every frame: the face's true motion, so tracking noise can be told from the motion itself.
 */
export const CLIP_WIDTH = 1280;
export const CLIP_HEIGHT = 720;
export const CLIP_FPS = 30;
export const CLIP_FRAMES = 150;
export const CLIP_PHOTO = '@vladmandic/face-api/demo/sample3.jpg';
/** Face centre and size in the photo (from the BlazeFace detection, checked by eye). */
const FACE = { cx: 1190, cy: 390, size: 253 };

/** Frame pixel (x, y) ← photo pixel (sx, sy) = centre + (cos·dx + sin·dy, −sin·dx + cos·dy), d = frame pixel − face. */
export interface ClipPose {
  /** Photo pixels per frame pixel, rotated: cos(roll)/zoom and sin(roll)/zoom. */
  cos: number;
  sin: number;
  /** Where the photo's face centre lands in the frame. */
  faceX: number;
  faceY: number;
  /** The photo's face centre. */
  photoX: number;
  photoY: number;
}

/** The pose at loop phase `t` in [0, 1) (frame f of the clip is t = f / CLIP_FRAMES). */
export function clipPose(t: number): ClipPose {
  const phase = 2 * Math.PI * t;
  // Face spans about a third of the frame width at rest, like a shopper 60 cm from the glass.
  const zoom = ((CLIP_WIDTH * 0.28) / FACE.size) * (1 + 0.12 * Math.sin(phase + 1));
  const roll = ((5 * Math.PI) / 180) * Math.sin(2 * phase);
  const panX = 0.08 * CLIP_WIDTH * Math.sin(phase);
  const panY = 0.05 * CLIP_HEIGHT * Math.sin(2 * phase + 0.5);
  return {
    cos: Math.cos(roll) / zoom,
    sin: Math.sin(roll) / zoom,
    faceX: CLIP_WIDTH / 2 + panX,
    faceY: CLIP_HEIGHT * 0.54 + panY,
    photoX: FACE.cx,
    photoY: FACE.cy,
  };
}

/** Photo pixel index coordinates of frame pixel index coordinates (x, y), as the clip samples them. */
export function frameToPhoto(pose: ClipPose, x: number, y: number): [number, number] {
  const dx = x - pose.faceX;
  const dy = y - pose.faceY;
  return [pose.photoX + pose.cos * dx + pose.sin * dy, pose.photoY - pose.sin * dx + pose.cos * dy];
}

/** The inverse of frameToPhoto. */
export function photoToFrame(pose: ClipPose, sx: number, sy: number): [number, number] {
  const k = pose.cos * pose.cos + pose.sin * pose.sin;
  const u = sx - pose.photoX;
  const v = sy - pose.photoY;
  return [pose.faceX + (pose.cos * u - pose.sin * v) / k, pose.faceY + (pose.sin * u + pose.cos * v) / k];
}
