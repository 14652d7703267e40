/**
 * The face stage: detect only when needed; otherwise run the mesh on a crop predicted from the
 * previous frame's landmarks (rotated upright by the eye line), as MediaPipe does.
 * The crop is predicted from the raw landmarks (the smoother never feeds back into tracking); the
 * landmarks handed on are smoothed, with the head pose, and optionally the irises and a person
 * mask computed every N frames.
 *
 * The detector runs when no face is tracked, when the predicted crop no longer shows what it
 * showed on the last frame (crop-check.ts: a face that teleported is re-acquired on that same
 * frame, not two frames late), and every CHECK_EVERY frames to see who else is at the mirror.
 * Which face is the shopper is shopper-rule.ts's rule (largest, most central, with hysteresis).
 * A new track starts the smoother afresh, so landmarks never slide from the old face to the new.
 * A new track's first frames are meshed twice (SETTLE_FRAMES), so they settle on their own crop.
 */
import type { FaceDetector, Detection } from './detector.ts';
import type { FaceMesh } from './mesh.ts';
import { regionBounds, type RgbImage, type SquareRegion } from './image-ops.ts';
import type { Box, Face } from './face.ts';
import { LandmarkSmoother, DEFAULT_SMOOTHING, type SmoothingParams } from './smoothing.ts';
import { headPose } from './pose.ts';
import type { IrisModel } from './iris.ts';
import type { PersonMask, PersonSegmenter } from './segmentation.ts';
import { MIN_CORRELATION, correlation, thumbnail, type Thumbnail } from './crop-check.ts';
import { ShopperRule, matchShopper } from './shopper-rule.ts';
import { EYE_LEFT_OUTER, EYE_RIGHT_OUTER } from './regions.ts';
import { irisesOf } from './attention-mesh.ts';

/** Mesh crop side relative to the landmarks' extent (MediaPipe's face landmark graph uses 1.5). */
const CROP_SCALE = 1.5;
/** Mesh crop side relative to the detector's box (BlazeFace boxes are tight: brows to mouth). */
const DETECTION_CROP_SCALE = 1.6;
/** While tracking, the detector also runs every this many frames (2 Hz at 30 fps) for the shopper rule. */
export const CHECK_EVERY = 15;
/**
 * The frames after a track's first on which the mesh runs once more, on the crop its own points
 * give on that same frame (the first frame already does). A tracked crop is predicted from the
 * previous frame, so on a moving face it lags; on a new track that lag builds up over the first
 * frames and the landmarks shift with it while the smoother has too little history to hold them
 * (demo clip: the lip mask of frames 1 -> 2 overlapped 0.895 after the clip's motion, every later
 * pair >= 0.92). Meshing these frames on their own crop, the smoother has a few frames of history
 * by the time single passes take over. Three extra mesh passes per new track.
 */
export const SETTLE_FRAMES = 3;

export interface TrackerOptions {
  /** Mesh face-flag below this means the track is lost. */
  minMeshScore: number;
  /** Temporal smoothing of the shopper's landmarks; default: on, DEFAULT_SMOOTHING. */
  smoothing?: SmoothingParams;
  /** Iris refinement (off when absent). */
  iris?: IrisModel;
  /** Person segmentation at its own lower rate (off when absent). */
  segmenter?: PersonSegmenter;
}

/** A frame as the tracker reads it; `capturedAt` (ms) times the smoother, else 30 fps is assumed. */
export type TrackedImage = RgbImage & { capturedAt?: number };

export interface FaceStageResult {
  faces: Face[];
  /** True when the detector ran on this frame (tracking was lost or never started). */
  detected: boolean;
  /** Faces the detector saw besides the shopper (counted, not rendered). */
  otherFaces: number;
  /** Person mask at frame resolution, when segmentation is on (may be a few frames old: see `age`). */
  segmentation?: PersonMask;
}

export class FaceTracker {
  readonly #detector: FaceDetector;
  #mesh: FaceMesh;
  readonly #options: TrackerOptions;
  readonly #smoother: LandmarkSmoother;
  #segmenter: PersonSegmenter | undefined;
  #segmentWhen: () => boolean = () => true;
  #region: SquareRegion | null = null;
  /** The predicted crop as it looked on the frame it was predicted from. */
  #thumb: Thumbnail | null = null;
  /** The tracked shopper's landmark bounds (what the shopper rule matches detections against). */
  #shopper: Box | null = null;
  readonly #rule = new ShopperRule();
  #sinceCheck = 0;
  #otherFaces = 0;
  #frames = 0;
  /** Frames this track has yielded so far (0 until the detector's frame is done). */
  #age = 0;

  constructor(detector: FaceDetector, mesh: FaceMesh, options: TrackerOptions) {
    this.#detector = detector;
    this.#mesh = mesh;
    this.#options = options;
    this.#smoother = new LandmarkSmoother(options.smoothing ?? DEFAULT_SMOOTHING);
    this.#segmenter = options.segmenter;
  }

  /**
   * Segmentation on demand: `when` is asked once per frame and the segmenter (if any) runs only on
   * frames where it holds, so a shopper without hair colour costs no segmentation at all.
   */
  segmentWhen(when: () => boolean, segmenter: PersonSegmenter | undefined = this.#segmenter): void {
    this.#segmentWhen = when;
    this.#segmenter = segmenter;
  }

  /**
   * Model update hook: the next frame runs on `mesh`. The caller keeps the returned previous mesh
   * (its model stays loaded, for a rollback) and disposes it only once no frame can be using it.
   */
  replaceMesh(mesh: FaceMesh): FaceMesh {
    const previous = this.#mesh;
    this.#mesh = mesh;
    return previous;
  }

  /** Forget the current track, e.g. when the source restarts. */
  reset(): void {
    this.#lose();
    this.#rule.reset();
    this.#otherFaces = 0;
    this.#smoother.reset();
    this.#segmenter?.reset();
  }

  async process(image: TrackedImage): Promise<FaceStageResult> {
    const t = image.capturedAt ?? (this.#frames * 1000) / 30;
    this.#frames++;
    const result = await this.#track(image);
    if (result.faces.length === 0) this.#smoother.reset();
    for (const face of result.faces) {
      face.landmarks = this.#smoother.smooth(face.landmarks, t);
      face.pose = headPose(face.landmarks);
      // The attention mesh brings its own irises; the iris model runs only beside the plain mesh.
      const irises = irisesOf(face.landmarks);
      if (irises) face.iris = irises;
      else if (this.#options.iris) face.iris = await this.#options.iris.estimate(image, face.landmarks);
    }
    // Asked first on every frame: an on-demand loader hears the demand before any segmenter exists.
    const wanted = this.#segmentWhen();
    if (wanted && this.#segmenter) result.segmentation = await this.#segmenter.process(image);
    else this.#segmenter?.reset();
    return result;
  }

  async #track(image: RgbImage): Promise<FaceStageResult> {
    this.#sinceCheck++;
    const holds = this.#thumbMatches(image);
    if (holds && this.#sinceCheck < CHECK_EVERY) {
      const face = await this.#settle(image, await this.#meshOn(image, this.#region!));
      if (face) return this.#tracked(image, face, false);
      // Lost: the next face found is a new track, not a continuation of this one.
      this.#lose();
    }
    const detections = await this.#detector.detect(image);
    this.#sinceCheck = 0;
    const boxes = detections.map((d) => d.box);
    // The detector can miss a face the crop still holds (a turned head, motion blur): that shopper
    // is still there, and a bystander must not take over for it.
    if (holds && this.#shopper && matchShopper(this.#shopper, boxes) < 0) boxes.push(this.#shopper);
    this.#otherFaces = Math.max(0, boxes.length - 1);
    const choice = this.#rule.choose(this.#shopper, boxes, image);
    if (choice.index < 0) {
      this.#lose();
      return { faces: [], detected: true, otherFaces: 0 };
    }
    if (!choice.changed && this.#region && holds) {
      // A routine check and the shopper is where the crop says: keep tracking, nothing jumps.
      const face = await this.#settle(image, await this.#meshOn(image, this.#region));
      if (face) return this.#tracked(image, face, true);
    }
    const detection = detections[choice.index];
    if (!detection) {
      this.#lose();
      return { faces: [], detected: true, otherFaces: this.#otherFaces };
    }
    // A new shopper, or the crop lost the face: start again from the detector's box.
    this.#lose();
    let face = await this.#meshOn(image, regionFromDetection(detection));
    // The detector's box frames the face less well than the mesh's own points do: mesh once more
    // on the crop those points give, so a new track starts where it will settle (no first-frame jump).
    if (face && this.#region) face = (await this.#meshOn(image, this.#region)) ?? face;
    return face ? this.#tracked(image, face, true) : { faces: [], detected: true, otherFaces: this.#otherFaces };
  }

  /** Forgets the track: the next face is a new one, smoothed from scratch. */
  #lose(): void {
    this.#age = 0;
    this.#region = null;
    this.#thumb = null;
    this.#shopper = null;
    this.#smoother.reset();
  }

  /** The predicted crop still shows what it showed when predicted (crop-check.ts). */
  #thumbMatches(image: RgbImage): boolean {
    return !!this.#region && !!this.#thumb && correlation(this.#thumb, thumbnail(image, this.#region)) >= MIN_CORRELATION;
  }

  /** Bookkeeping for a frame that yielded the shopper's mesh: what the next frame checks against. */
  #tracked(image: RgbImage, face: Face, detected: boolean): FaceStageResult {
    this.#age++;
    this.#shopper = landmarkBounds(face.landmarks);
    this.#thumb = this.#region ? thumbnail(image, this.#region) : null;
    return { faces: [face], detected, otherFaces: this.#otherFaces };
  }

  /** On a young track (SETTLE_FRAMES), the mesh once more on the crop `face`'s own points give. */
  async #settle(image: RgbImage, face: Face | null): Promise<Face | null> {
    if (!face || !this.#region || this.#age > SETTLE_FRAMES) return face;
    return (await this.#meshOn(image, this.#region)) ?? face;
  }

  async #meshOn(image: RgbImage, region: SquareRegion): Promise<Face | null> {
    const result = await this.#mesh.estimate(image, region);
    if (result.score < this.#options.minMeshScore) {
      this.#region = null;
      return null;
    }
    // Tracking follows the raw landmarks: smoothing must never steer the crop.
    this.#region = regionFromLandmarks(result.landmarks);
    return { box: regionBounds(region), score: result.score, landmarks: result.landmarks };
  }
}

function landmarkBounds(points: ReadonlyArray<readonly [number, number, number]>): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/** The mesh crop for a detection: the box grown to hold the whole face, upright by the eye keypoints. */
export function regionFromDetection(d: Detection): SquareRegion {
  const [rightEye, leftEye] = d.keypoints;
  return {
    cx: d.box.x + d.box.width / 2,
    cy: d.box.y + d.box.height / 2,
    size: Math.max(d.box.width, d.box.height) * DETECTION_CROP_SCALE,
    angle: Math.atan2(leftEye[1] - rightEye[1], leftEye[0] - rightEye[0]),
  };
}

/** The mesh crop a mesh's own points give for the next pass or frame (MediaPipe's landmarks-to-ROI). */
export function regionFromLandmarks(points: ReadonlyArray<readonly [number, number, number]>): SquareRegion {
  const a = points[EYE_RIGHT_OUTER];
  const b = points[EYE_LEFT_OUTER];
  const angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // Extents in the face's own upright frame, so a tilted head gets a tight square.
  let minU = Infinity;
  let maxU = -Infinity;
  let minV = Infinity;
  let maxV = -Infinity;
  for (const [x, y] of points) {
    const u = cos * x + sin * y;
    const v = -sin * x + cos * y;
    if (u < minU) minU = u;
    if (u > maxU) maxU = u;
    if (v < minV) minV = v;
    if (v > maxV) maxV = v;
  }
  const cu = (minU + maxU) / 2;
  const cv = (minV + maxV) / 2;
  return {
    cx: cos * cu - sin * cv,
    cy: sin * cu + cos * cv,
    size: Math.max(maxU - minU, maxV - minV) * CROP_SCALE,
    angle,
  };
}
