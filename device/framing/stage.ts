/**
 * The framing stage as the pipeline runs it, around the vision stage and before the try-on:
 *
 *  1. see(): the CNNs read a small copy of the (high-resolution, upright) frame (the capture
 *     child's, Frame.reduced, when it made one); what they find is mapped back to camera pixels.
 *     Every `peopleEvery` frames the face detector also scans the small frame for people besides
 *     the tracked shopper (the tracker only detects when it loses the track), so the crop widens
 *     when a second person steps in. With `scanWhenIdle` the scan (a detector run, about as long
 *     as the rest of the frame's CNNs) is not on that frame's path: a copy of its small frame waits
 *     for `idle()`, which the pipeline runs once the frame is emitted and no new one is waiting;
 *     its people count from the next frame on. A scan still waiting when the next one is due (the
 *     loop was never idle for a whole period) runs on its frame, as without the option.
 *  2. compose(): the crop wanted for those faces, followed smoothly (follow.ts), in the aspect of
 *     the kiosk's mirror box (kiosk:display; the configured display until it says) and cut out at
 *     no more than the box's resolution, never upscaled here; the faces and the person mask move
 *     onto its pixels. The try-on renders on that crop and the encoder sends exactly it: the kiosk
 *     gets the pixels it shows, with the geometry in the emitted image's coordinates and the
 *     transform beside them.
 */
import type { Frame, Size } from '../core/frame.ts';
import type { FramingMessage } from '../transport/events.ts';
import type { PipelineStages } from '../pipeline.ts';
import type { Detection } from '../vision/detector.ts';
import type { FaceStageResult } from '../vision/face-tracker.ts';
import type { Box, Face } from '../vision/face.ts';
import type { PersonMask } from '../vision/segmentation.ts';
import { CropFollower, type FollowParams } from './follow.ts';
import { cameraToImage, displayMagnification, imageToCamera, type FramingTransform, type Point, type Rect, type Rotation, type LensDistortion } from './geometry.ts';
import { cropRect, landmarkBox, outputSize, wantedCrop, type FramingPolicy } from './planner.ts';
import { downscale, cutCrop, maskOnCrop, reducedFrame, Scratch, visionFactor } from './resample.ts';

export interface FramingOptions {
  policy: FramingPolicy;
  follow: FollowParams;
  /** The CNNs' frame: the camera frame divided by a whole factor until its longer side fits. */
  visionMaxSide: number;
  /** Scan for other people every this many frames (0: never). */
  peopleEvery: number;
  /** The people scan waits for `idle()` (the pipeline's quiet moment) instead of running on its frame. */
  scanWhenIdle?: boolean;
  /** How the camera is mounted and its lens, as the source applied them (for the transform). */
  sensor: Size;
  rotation: Rotation;
  lens?: LensDistortion;
  /**
   * The kiosk's mirror box in device pixels, once it has said (`kiosk:display`): the crop takes its
   * aspect and the emitted image is at most its size, so the kiosk gets the pixels it shows and no
   * more. Absent or null: `policy.display` (the configured glass).
   */
  glass?: () => Size | null;
}

/**
 * Below this many device pixels on a side the box is not a mirror anyone looks at (a collapsed
 * layout, a hidden panel): the configured display is used rather than emitting thumbnails the
 * renderer and the advisor would have to work on.
 */
export const MIN_GLASS_SIDE = 120;

/** The glass frames are sized for: the kiosk's box when it is a usable one, else the configured display. */
export function glassFor(options: Pick<FramingOptions, 'glass' | 'policy'>): Size {
  const box = options.glass?.();
  if (!box || box.width < MIN_GLASS_SIDE || box.height < MIN_GLASS_SIDE) return options.policy.display;
  return { width: box.width, height: box.height };
}

/** A frame ready for the try-on: the crop's pixels, and the faces and mask in them. */
export interface Framed {
  frame: Frame;
  faces: Face[];
  segmentation?: PersonMask;
  transform: FramingTransform;
}

export interface FramingStage {
  /** Runs `vision` on the small frame (after `prepare` corrects it) and maps its faces to camera pixels. */
  see(frame: Frame, vision: (small: Frame) => Promise<FaceStageResult>, prepare: (small: Frame) => void): Promise<Seen>;
  /** The crop for this frame, its pixels (`prepare` corrects them), and the faces on it. */
  compose(frame: Frame, seen: Seen, prepare: (crop: Frame) => void): Promise<Framed>;
  /** The transform of the last composed frame. */
  last(): FramingTransform | null;
  /** Forget where the shopper was (source restart). */
  reset(): void;
  /** The people scan waiting for a quiet moment (`scanWhenIdle`), or null when none is. */
  idle(): (() => Promise<void>) | null;
}

export interface Seen extends FaceStageResult {
  /** Faces besides the shopper's from the latest people scan, in camera pixels. */
  others: Box[];
  /** Camera pixels per small-frame pixel. */
  factor: number;
}

export type PeopleDetector = (small: Frame) => Promise<Detection[]>;

const scaleBox = (b: Box, s: number): Box => ({ x: b.x * s, y: b.y * s, width: b.width * s, height: b.height * s });

function mapFace(face: Face, f: (p: Point) => Point, s: number): Face {
  const [bx, by] = f([face.box.x, face.box.y]);
  const [bx2, by2] = f([face.box.x + face.box.width, face.box.y + face.box.height]);
  return {
    ...face,
    box: { x: bx, y: by, width: bx2 - bx, height: by2 - by },
    landmarks: face.landmarks.map(([x, y, z]) => {
      const [u, v] = f([x, y]);
      return [u, v, z * s] as [number, number, number];
    }),
    ...(face.iris && {
      iris: {
        right: { center: f(face.iris.right.center), radius: face.iris.right.radius * s },
        left: { center: f(face.iris.left.center), radius: face.iris.left.radius * s },
      },
    }),
  };
}

/** Does the detection lie on the shopper (its centre inside the shopper's face box)? */
function onShopper(d: Detection, shopper: Box | undefined): boolean {
  if (!shopper) return false;
  const cx = d.box.x + d.box.width / 2;
  const cy = d.box.y + d.box.height / 2;
  return cx >= shopper.x && cx <= shopper.x + shopper.width && cy >= shopper.y && cy <= shopper.y + shopper.height;
}

export function createFramingStage(options: FramingOptions, people?: PeopleDetector): FramingStage {
  const follower = new CropFollower(options.follow);
  const cropScratch = new Scratch();
  let others: Box[] = [];
  let frames = 0;
  let last: FramingTransform | null = null;
  /** A scan's small frame (a copy: the frame's buffers go back to the pool at its emit) and where the shopper was on it. */
  let waiting: { small: Frame; shopper: Box | undefined; factor: number } | null = null;
  let scanCopy = Buffer.alloc(0);
  const scan = async (small: Frame, shopper: Box | undefined, factor: number) => {
    const found = await people!(small);
    others = found.map((d) => ({ ...d, box: scaleBox(d.box, factor) })).filter((d) => !onShopper(d, shopper)).map((d) => d.box);
  };
  return {
    async see(frame, vision, prepare) {
      const factor = visionFactor(frame, options.visionMaxSide);
      // The capture child's reduced copy when it made one at this factor; else reduced here.
      const small = frame.reduced?.factor === factor ? reducedFrame(frame, frame.reduced) : await downscale(frame, factor);
      // With factor 1 the small frame is the frame itself: corrected here, and the crop cut from it.
      prepare(small);
      const result = await vision(small);
      const faces = result.faces.map((f) => mapFace(f, ([x, y]) => [x * factor, y * factor], factor));
      if (people && options.peopleEvery > 0 && frames++ % options.peopleEvery === 0) {
        const shopper = faces[0] ? landmarkBox(faces[0].landmarks) : undefined;
        if (options.scanWhenIdle && !waiting) {
          if (scanCopy.length !== small.data.length) scanCopy = Buffer.allocUnsafe(small.data.length);
          small.data.copy(scanCopy);
          waiting = { small: { ...small, data: scanCopy }, shopper, factor };
        } else {
          // Never idle since the last one was due: this frame pays for its scan, the stale one is dropped.
          waiting = null;
          await scan(small, shopper, factor);
        }
      }
      if (faces.length === 0) others = [];
      return { ...result, faces, others, factor };
    },

    async compose(frame, seen, prepare) {
      const display = glassFor(options);
      const boxes = seen.faces[0] ? [landmarkBox(seen.faces[0].landmarks), ...seen.others] : [];
      const wanted = wantedCrop(frame, boxes, { ...options.policy, display });
      const shown = follower.update(wanted, frame.capturedAt);
      const crop: Rect = cropRect(frame, display, shown);
      const out = outputSize(crop, display);
      const transform: FramingTransform = {
        sensor: options.sensor,
        rotation: options.rotation,
        ...(options.lens && { lens: options.lens }),
        crop,
        out,
        display,
        mirror: true,
      };
      const cut = await cutCrop(frame, crop, out, cropScratch);
      if (seen.factor > 1) prepare(cut);
      const toImage = (p: Point) => cameraToImage(transform, p);
      const s = out.width / crop.width;
      const faces = seen.faces.map((f) => mapFace(f, toImage, s));
      const segmentation =
        seen.segmentation &&
        maskOnCrop(
          seen.segmentation,
          (x, y) => {
            const [cx, cy] = imageToCamera(transform, [x, y]);
            return [cx / seen.factor, cy / seen.factor];
          },
          out,
        );
      last = transform;
      return { frame: cut, faces, transform, ...(segmentation && { segmentation }) };
    },

    last: () => last,

    reset() {
      follower.reset();
      others = [];
      frames = 0;
      waiting = null;
    },

    idle() {
      if (!waiting) return null;
      return async () => {
        const w = waiting;
        waiting = null;
        if (w) await scan(w.small, w.shopper, w.factor);
      };
    },
  };
}

/** What the kiosk gets beside the frame. */
export function framingMessage(t: FramingTransform): FramingMessage {
  const camera = t.rotation === 90 || t.rotation === 270 ? { width: t.sensor.height, height: t.sensor.width } : t.sensor;
  return { camera, crop: t.crop, display: t.display, rotation: t.rotation, mirror: t.mirror, magnification: Math.round(displayMagnification(t) * 1000) / 1000 };
}

/**
 * The pipeline's vision and framing stages around a framing stage: `track` runs the CNNs (the
 * tracker), `correct` the colour profile, each on the pixels that are read (small frame, crop).
 */
export function framedStages(
  framing: FramingStage,
  track: (small: Frame) => Promise<FaceStageResult>,
  correct: (pixels: Frame) => void,
): Required<Pick<PipelineStages<Seen>, 'vision' | 'frame' | 'idle'>> {
  return {
    idle: () => framing.idle(),
    vision: (frame) => framing.see(frame, track, correct),
    frame: async (frame, seen) => {
      const framed = await framing.compose(frame, seen, correct);
      return { ...framed, framing: framingMessage(framed.transform) };
    },
  };
}
